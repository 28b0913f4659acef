{
  "targets": [
    {
      "target_name": "vdomain_native",
      "sources": [
        "native/core/addon.cc",
        "native/core/domain.cc",
        "native/core/notify.cc",
        "native/core/tracer.cc",
        "native/core/table.cc",
        "native/core/rules.cc",
        "native/core/checksum.cc",
        "native/core/procfs.cc",
        "native/core/task_regs.cc",
        "native/core/pages_writer.cc",
        "native/core/dump.cc",
        "native/core/plan_builder.cc",
        "native/core/restore.cc",
        "native/resources/memory/memory.cc",
        "native/resources/memory/dump_memory.cc",
        "native/resources/memory/plan_memory.cc",
        "native/resources/files/plan_files.cc",
        "native/resources/task/plan_task.cc",
        "native/resources/signals/plan_signals.cc",
        "native/resources/threads/plan_threads.cc",
        "native/resources/sysv/plan_sysv.cc",
        "native/resources/locks/plan_locks.cc",
        "native/resources/registers/registers.cc",
        "native/resources/task/dump_task.cc",
        "native/resources/threads/thread_ids.cc",
        "native/resources/signals/dump_signals.cc",
        "native/resources/files/dump_files.cc",
        "native/resources/locks/dump_locks.cc",
        "native/resources/sysv/dump_sysv.cc",
        "native/resources/terminal/terminal.cc"
      ],
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
      "sources": ["native/keeper/keeper.c", "native/keeper/keeper_io.c", "native/keeper/restore_child.c", "native/resources/files/keeper_files.c", "native/resources/sysv/keeper_sysv.c"],
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
