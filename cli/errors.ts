// Exit statuses of the vdomain command: one per kind of failure, so scripts can
// tell them apart. A job's own status passes through `run` and `restore` unchanged.
export const EXIT = {
  OK: 0,
  FAILURE: 1,          // internal error (a bug, or the kernel refused something)
  USAGE: 2,            // bad command line
  NO_DOMAIN: 3,        // no running domain of that name
  NAME_TAKEN: 4,       // a running domain already has that name
  UNSUPPORTED: 5,      // the kernel or the job holds something vdomain cannot handle
  NO_IMAGE: 6,         // no image at that path (missing, or not a vdomain image)
  BAD_IMAGE: 7,        // a damaged image: checksum mismatch, truncated or missing file
  IMAGE_VERSION: 8,    // an image of another format version
  OUTPUT: 9,           // the checkpoint's output directory exists or cannot be written
  IMAGE_OWNER: 10,     // restore: the image belongs to (or records) another user (docs/decisions/0011)
  STATE_DIR: 11,       // the state directory is another user's, or cannot be used
  SUPERVISOR_GONE: 12, // the domain's supervisor ended before it answered
  LOCKED: 13,          // restore: another process holds a file lock the job held (no process of the job is left)
  NO_INHERITED_FD: 14, // restore: the job had a descriptor from outside (run's fd N) and the restoring command has no fd N
  NOT_EXECUTABLE: 126, // the command exists but cannot be executed
  NOT_FOUND: 127,      // the command does not exist
  CHECKPOINTED: 75,    // run/restore: `checkpoint --kill` ended the job once its image was whole (EX_TEMPFAIL: restore it to go on; not 137, which any SIGKILL gives)
} as const;

/** An error meant for the user: one line on stderr and a distinct exit status. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}
