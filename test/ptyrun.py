#!/usr/bin/env python3
# Runs a command on a new terminal (a pty, its controlling terminal, as a login
# shell's job would be), copies what it writes there to stdout, and exits with
# its status. For the tests of jobs on terminals.
#   ptyrun.py COMMAND [ARGS...]      (env PTY_SIZE=ROWSxCOLS: the terminal's size)
import fcntl, os, pty, struct, sys, termios

pid, master = pty.fork()
if pid == 0:
    if os.environ.get('PTY_SIZE'):
        rows, cols = map(int, os.environ['PTY_SIZE'].split('x'))
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
while True:
    try:
        data = os.read(master, 4096)
    except OSError:
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
