# SysV IPC from a real interpreter, through ctypes (the standard library has no
# binding): a keyed semaphore (SEM_UNDO) guards a counter in a shared segment,
# stepped ROUNDS times. Prints "ready", then "python sysv HEX" (the counter).
#
#   python3 sysv.py ROUNDS
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
class SemBuf(ctypes.Structure):
    _fields_ = [('num', ctypes.c_ushort), ('op', ctypes.c_short), ('flg', ctypes.c_short)]
IPC_CREAT, IPC_RMID, SEM_UNDO = 0o1000, 0, 0x1000
seg = libc.shmget(0, 4096, IPC_CREAT | 0o600)
sem = libc.semget(0x5059, 1, IPC_CREAT | 0o600)
addr = libc.shmat(seg, None, 0)
if seg < 0 or sem < 0 or addr in (None, ctypes.c_void_p(-1).value):
    sys.exit('sysv: ' + str(ctypes.get_errno()))
libc.semctl(sem, 0, 16, 1)  # SETVAL 1
cell = ctypes.c_uint64.from_address(addr)
def op(delta):
    b = SemBuf(0, delta, SEM_UNDO)
    if libc.semop(sem, ctypes.byref(b), 1) < 0:
        sys.exit('semop: ' + str(ctypes.get_errno()))
print('ready', flush=True)
for i in range(int(sys.argv[1])):
    op(-1)
    cell.value = (cell.value * 6364136223846793005 + i) % (1 << 64)
    op(1)
    if i % 500 == 0:
        time.sleep(0.002)
print('python sysv %016x' % cell.value, flush=True)
libc.shmctl(seg, IPC_RMID, None)
libc.semctl(sem, 0, IPC_RMID)
