"""An SFTP file system confined to one local folder, for paramiko's SFTP server.

Client paths are virtual: "/" is the root folder. Any path that would leave the root, by ".."
or through a symlink pointing outside, is refused with "permission denied" rather than
silently clamped, so a misconfigured client fails loudly instead of reading the wrong place.
"""

from __future__ import annotations

import errno
import os
import posixpath

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.sftp import SFTP_OK, SFTP_PERMISSION_DENIED


class PathEscapeError(Exception):
    """A client path points outside the served root."""


class RootedSFTPHandle(SFTPHandle):
    def stat(self):
        try:
            return SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as e:
            return SFTPServer.convert_errno(e.errno)

    def chattr(self, attr):
        try:
            SFTPServer.set_file_attr(self.filename, attr)
            return SFTP_OK
        except OSError as e:
            return SFTPServer.convert_errno(e.errno)


def _refuse_escapes(method):
    """Turn a PathEscapeError or OSError raised inside an operation into an SFTP status code."""

    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except PathEscapeError:
            return SFTP_PERMISSION_DENIED
        except OSError as e:
            return SFTPServer.convert_errno(e.errno)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


class RootedSFTPServer(SFTPServerInterface):
    """Serves `root` as "/". Passed to `SFTPServer` as its `sftp_si`, with `root=` as keyword."""

    def __init__(self, server: paramiko.ServerInterface, *args, root: str, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.root = os.path.realpath(root)

    # -- path mapping -------------------------------------------------------------------------

    def _virtual(self, path: str) -> str:
        """Normalize a client path to an absolute virtual path, refusing any climb above "/"."""
        parts: list[str] = []
        for part in path.replace("\\", "/").split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise PathEscapeError
                parts.pop()
            else:
                parts.append(part)
        return "/" + "/".join(parts)

    def _inside(self, local: str) -> bool:
        return os.path.commonpath([self.root, local]) == self.root

    def _local(self, path: str, follow: bool = True) -> str:
        """Map a client path to a local one inside the root.

        With follow=False (lstat, remove, rename, rmdir) the last component is not resolved, so
        a symlink itself can be handled; its parent folder must still resolve inside the root.
        """
        local = os.path.join(self.root, self._virtual(path).lstrip("/"))
        if follow:
            resolved = os.path.realpath(local)
        else:
            resolved = os.path.join(os.path.realpath(os.path.dirname(local)), os.path.basename(local))
        if not self._inside(resolved):
            raise PathEscapeError
        return resolved

    # -- SFTPServerInterface ------------------------------------------------------------------

    def canonicalize(self, path: str) -> str:
        try:
            return self._virtual(path)
        except PathEscapeError:
            # canonicalize cannot return an error code; "/" keeps a confused client at the root.
            return "/"

    @_refuse_escapes
    def list_folder(self, path):
        local = self._local(path)
        entries = []
        for name in sorted(os.listdir(local)):
            attr = SFTPAttributes.from_stat(os.lstat(os.path.join(local, name)))
            attr.filename = name
            entries.append(attr)
        return entries

    @_refuse_escapes
    def stat(self, path):
        return SFTPAttributes.from_stat(os.stat(self._local(path)))

    @_refuse_escapes
    def lstat(self, path):
        return SFTPAttributes.from_stat(os.lstat(self._local(path, follow=False)))

    @_refuse_escapes
    def open(self, path, flags, attr):
        local = self._local(path)
        mode = getattr(attr, "st_mode", None)
        fd = os.open(local, flags | getattr(os, "O_BINARY", 0), mode if mode is not None else 0o644)
        if (flags & os.O_CREAT) and attr is not None:
            attr._flags &= ~attr.FLAG_PERMISSIONS
            SFTPServer.set_file_attr(local, attr)
        if flags & os.O_WRONLY:
            fmode = "ab" if flags & os.O_APPEND else "wb"
        elif flags & os.O_RDWR:
            fmode = "a+b" if flags & os.O_APPEND else "r+b"
        else:
            fmode = "rb"
        handle = RootedSFTPHandle(flags)
        handle.filename = local
        handle.readfile = handle.writefile = os.fdopen(fd, fmode)
        return handle

    @_refuse_escapes
    def remove(self, path):
        os.remove(self._local(path, follow=False))
        return SFTP_OK

    @_refuse_escapes
    def rename(self, oldpath, newpath):
        old, new = self._local(oldpath, follow=False), self._local(newpath, follow=False)
        # SFTP v3 rename must not replace an existing file (OpenSSH behaves the same way).
        if os.path.lexists(new):
            return SFTPServer.convert_errno(errno.EEXIST)
        os.rename(old, new)
        return SFTP_OK

    @_refuse_escapes
    def posix_rename(self, oldpath, newpath):
        os.replace(self._local(oldpath, follow=False), self._local(newpath, follow=False))
        return SFTP_OK

    @_refuse_escapes
    def mkdir(self, path, attr):
        local = self._local(path, follow=False)
        os.mkdir(local)
        if attr is not None:
            SFTPServer.set_file_attr(local, attr)
        return SFTP_OK

    @_refuse_escapes
    def rmdir(self, path):
        os.rmdir(self._local(path, follow=False))
        return SFTP_OK

    @_refuse_escapes
    def chattr(self, path, attr):
        SFTPServer.set_file_attr(self._local(path), attr)
        return SFTP_OK

    @_refuse_escapes
    def readlink(self, path):
        local = self._local(path, follow=False)
        target = os.path.realpath(local)
        if not self._inside(target):
            raise PathEscapeError
        relative = posixpath.relpath(target, self.root)
        return "/" if relative == "." else "/" + relative

    def symlink(self, target_path, path):
        # Not needed by the SFTP hook, and links are the easiest way out of a chroot.
        return SFTP_PERMISSION_DENIED
