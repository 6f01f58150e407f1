"""A slow disk for tests/bag.rs: a FUSE passthrough of BACKING at MOUNT whose
writes are throttled to RATE bytes per second (each write() sleeps for its
share), so a writer on MOUNT sees a disk that cannot keep up.

    slow_fs.py BACKING MOUNT RATE

Runs in the foreground until unmounted (umount MOUNT) or killed. Uses mfusepy
(ctypes bindings for libfuse 3); mounting needs root, as the tests run it.
"""

import os
import sys
import threading
import time

import mfusepy


class Slow(mfusepy.Operations):
    use_ns = True

    def __init__(self, root, rate):
        self.root = os.path.abspath(root)
        self.rate = rate
        # One disk: writes queue behind each other, as on a real device.
        self.disk = threading.Lock()

    def _p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def getattr(self, path, fh=None):
        try:
            st = os.lstat(self._p(path))
        except OSError as e:
            raise mfusepy.FuseOSError(e.errno)
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime_ns", "st_mtime_ns", "st_ctime_ns")
        out = {k.replace("_ns", ""): getattr(st, k) for k in keys}
        return out

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._p(path))

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def unlink(self, path):
        os.unlink(self._p(path))

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def utimens(self, path, times=None):
        if times is None:
            os.utime(self._p(path))
        else:
            os.utime(self._p(path), ns=times)

    def statfs(self, path):
        st = os.statvfs(self._p(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")
        return {k: getattr(st, k) for k in keys}

    def create(self, path, mode, flags):
        return os.open(self._p(path), flags | os.O_CREAT, mode)

    def open(self, path, flags):
        return os.open(self._p(path), flags)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        with self.disk:
            time.sleep(len(data) / self.rate)
            return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        with open(self._p(path), "r+b") as f:
            f.truncate(length)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        os.fsync(fh)

    def release(self, path, fh):
        os.close(fh)


def main():
    backing, mount, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if rate <= 0:
        sys.exit(f"rate {rate} must be positive")
    try:
        mfusepy.FUSE(Slow(backing, rate), mount, foreground=True, nothreads=False)
    except RuntimeError as e:
        sys.exit(f"slow_fs: cannot mount {mount}: fuse_main returned {e}")


if __name__ == "__main__":
    main()
