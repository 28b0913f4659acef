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
        "native/src/memory.cc",
        "native/src/checksum.cc",
        "native/src/procfs.cc",
        "native/src/task_regs.cc",
        "native/src/registers.cc",
        "native/src/pages_writer.cc",
        "native/src/dump.cc",
        "native/src/dump_task.cc",
        "native/src/dump_memory.cc",
        "native/src/dump_files.cc",
        "native/src/dump_locks.cc",
        "native/src/dump_ipc.cc",
        "native/src/dump_signals.cc",
        "native/src/plan_builder.cc",
        "native/src/restore.cc",
        "native/src/thread_ids.cc",
        "native/src/terminal.cc"
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
      "sources": ["native/keeper.c", "native/keeper_restore.c", "native/keeper_sysv.c"],
      "include_dirs": ["native", "<(SHARED_INTERMEDIATE_DIR)"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "actions": [
        {
          "action_name": "restorer_blob",
          "inputs": ["native/restorer/restorer.c", "native/restorer/plan.h", "native/restorer/restorer.ld", "native/restorer/build.mjs"],
          "outputs": ["<(SHARED_INTERMEDIATE_DIR)/restorer_blob.h"],
          "action": ["node", "native/restorer/build.mjs", "<(SHARED_INTERMEDIATE_DIR)"]
        }
      ]
    }
  ]
}
