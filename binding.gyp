{
  "targets": [
    {
      "target_name": "vdomain_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/domain.cc",
        "native/src/notify.cc",
        "native/src/tracer.cc",
        "native/src/table.cc",
        "native/src/rules.cc",
        "native/src/memory.cc"
      ],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').gyp\")"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    },
    {
      "target_name": "vdomain-keeper",
      "type": "executable",
      "sources": ["native/keeper.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
