//! Errors cross into JS as a negative errno (libuv's convention on Unix); JS builds the message.

use std::io;

/// `EINVAL`, for input that never reached the kernel (a malformed address, a closed socket's fd).
pub const EINVAL: i32 = -libc::EINVAL;
/// `EBADF`, for a socket that has no fd (not bound yet, or closed): libuv reports this too.
pub const EBADF: i32 = -libc::EBADF;

/// The negative errno for an `io::Error`; errors that carry no OS code map to `EIO`.
pub fn to_errno(err: &io::Error) -> i32 {
    match err.raw_os_error() {
        Some(code) if code > 0 => -code,
        _ => -libc::EIO,
    }
}

/// `0` for success, the negative errno otherwise: the return value of most native calls.
pub fn status(result: Result<(), i32>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(errno) => errno,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_become_negative_errno() {
        let err = io::Error::from_raw_os_error(libc::EADDRINUSE);
        assert_eq!(to_errno(&err), -98);
        assert_eq!(status(Err(to_errno(&err))), -98);
        assert_eq!(status(Ok(())), 0);
    }

    #[test]
    fn errors_without_code_become_eio() {
        let err = io::Error::other("synthetic");
        assert_eq!(to_errno(&err), -libc::EIO);
    }
}
