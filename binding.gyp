{
  "targets": [
    {
      "target_name": "vdomain_native",
      "sources": ["<!@(ls native/core/*.cc native/resources/*.cc native/resources/*/*.cc)"],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")", "native"],
      "dependencies": ["<!(node -p \"require('node-addon-api').gyp\")"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    },
    {
      "target_name": "vdomain-keeper",
      "type": "executable",
      "sources": ["<!@(ls native/keeper/*.c native/resources/*/keeper_*.c)"],
      "include_dirs": ["native", "<(SHARED_INTERMEDIATE_DIR)"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "actions": [
        {
          "action_name": "restorer_blob",
          "inputs": ["native/restorer/restorer.c", "native/restorer/blob.h", "native/restorer/plan.h", "native/restorer/restorer.ld", "native/restorer/build.mjs", "<!@(ls native/resources/*/restore_*.c)"],
          "outputs": ["<(SHARED_INTERMEDIATE_DIR)/restorer_blob.h"],
          "action": ["node", "native/restorer/build.mjs", "<(SHARED_INTERMEDIATE_DIR)"]
        }
      ]
    }
  ]
}
