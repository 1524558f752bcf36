//! State files that survive a SIGKILL and refuse planted symlinks.
//!
//! Plugins keep small files on the host (host-local's reservations and
//! `last_reserved_ip`, tuning's backups, firewall's records, cnictl's
//! result cache). A file
//! written in place and cut short by a kill is read back as garbage; one
//! opened through a symlink that someone planted in the directory writes
//! or reads a file of their choosing. So a write goes to a fresh
//! temporary file in the same directory, is synced, and is renamed (or
//! linked, for a file that must not exist yet) over the name; a rename
//! replaces a symlink rather than following it. (The directory is not
//! synced: a rename lost to a power cut leaves the old file, still whole.)
//! Two kinds skip parts of that, for speed on every ADD: [`create_new`]
//! (host-local's reservations) is not synced, and [`write_hint`] writes
//! in place.
//! Every read opens with `O_NOFOLLOW | O_NONBLOCK`, so neither a symlink
//! nor a FIFO planted under a state file's name is followed or waited on,
//! and refuses what is not a regular file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The largest state file read back: ours are a few hundred bytes, and a
/// bigger one is not ours.
const MAX_STATE_FILE: u64 = 1 << 20;

/// The prefix of temporary files: a leading dot keeps them apart from
/// state files, whose names are addresses, IDs or cache keys.
pub const TEMP_PREFIX: &str = ".tmp-";

/// The temporary file a write of `path` goes through. It is named after
/// the file, so a writer killed half way leaves debris that the next
/// write or removal of the same file clears.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{TEMP_PREFIX}{name}"))
}

/// True for a temporary file this module made (debris when no write is
/// under way).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// Writes `data` into a fresh temporary file beside `path`, synced when
/// `sync`, and returns its path; the caller renames or links it into place.
fn write_temp(path: &Path, data: &[u8], mode: u32, sync: bool) -> io::Result<PathBuf> {
    let temp = temp_path(path);
    remove_if_present(&temp)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(mode)
        .open(&temp)?;
    let written = file.write_all(data).and_then(|()| if sync { file.sync_all() } else { Ok(()) });
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    Ok(temp)
}

/// Replaces `path` with a file holding `data`, atomically: a reader sees
/// the old content or the new, never a part, and a symlink at `path` is
/// replaced, not followed.
pub fn write(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    replace(path, data, mode, true)
}

/// Writes a hint, a file whose loss or damage costs nothing but a
/// different start of a search (host-local's `last_reserved_ip`, read and
/// written under the store's lock): in place, with no temporary file,
/// rename or sync, each of which cost 0.5-2 ms of every ADD on the
/// development machine's disk (a rename over a file makes ext4 start
/// writing it back). A kill half way leaves it empty (no hint) or short
/// (another address to start from). It is still never written through a
/// symlink (`O_NOFOLLOW`) or a hard link, nor into a FIFO or anything
/// else not a regular file: such a name is replaced, as [`write`] does.
pub fn write_hint(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let opened = OpenOptions::new()
        .write(true)
        .create(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .mode(mode)
        .open(path);
    match opened {
        Ok(mut file) if writable_in_place(&file) => {
            // Over the old text, then cut to the new length: truncating to
            // zero first freed the file's block for the write to allocate
            // again, 0.5 ms of ext4 journal work on every ADD (perf trace).
            file.write_all(data)?;
            file.set_len(data.len() as u64)
        }
        // A symlink (ELOOP), a FIFO (ENXIO without a reader), a directory,
        // a device, or a hard link planted under the name (writing in place
        // would write the file it links): replaced whole, as `write` does.
        Ok(_) | Err(_) => replace(path, data, mode, false),
    }
}

fn replace(path: &Path, data: &[u8], mode: u32, sync: bool) -> io::Result<()> {
    let temp = write_temp(path, data, mode, sync)?;
    fs::rename(&temp, path).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

/// Creates `path` holding `data` only if no file (or symlink) has that
/// name; `Ok(false)` when one has. The file appears with its content
/// complete, also to a writer killed half way: host-local's reservations
/// are taken by creating them. It is not synced: a reservation lives as
/// long as its container, and a power cut ends every container, so what
/// a sync would keep through one is a stale reservation for GC; without
/// it a power cut can also leave an empty one, which GC removes as well
/// (the reference does not sync either). The sync was 1-2 ms of every ADD here.
pub fn create_new(path: &Path, data: &[u8], mode: u32) -> io::Result<bool> {
    let temp = write_temp(path, data, mode, false)?;
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads a state file: `Ok(None)` when there is none, an error when the
/// name is a symlink (`ELOOP`), not a regular file, or larger than any
/// state file of ours.
pub fn read(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let file =
        match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(io::Error::new(ErrorKind::InvalidData, "is a symbolic link, not followed"))
            }
            Err(e) => return Err(e),
        };
    read_regular(file).map(Some)
}

/// One read for a small file (state files are a few hundred bytes, and
/// host-local reads every reservation on each ADD: syscalls count); only a
/// read that fills the buffer, or finds nothing, looks further.
fn read_regular(mut file: File) -> io::Result<Vec<u8>> {
    let mut buf = [0u8; 1024];
    let got = match file.read(&mut buf) {
        Ok(got) => got,
        // A directory (EISDIR), or a FIFO with a writer (EAGAIN).
        Err(e) => return Err(not_regular(&file).unwrap_or(e)),
    };
    if got > 0 && got < buf.len() {
        // A short read of a regular file is its end.
        return Ok(buf[..got].to_vec());
    }
    // Empty, a FIFO without a writer, or longer than the buffer.
    if let Some(e) = not_regular(&file) {
        return Err(e);
    }
    let mut data = buf[..got].to_vec();
    (&mut file).take(MAX_STATE_FILE - got as u64 + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_STATE_FILE {
        return Err(io::Error::new(ErrorKind::InvalidData, format!("is larger than {MAX_STATE_FILE} bytes")));
    }
    Ok(data)
}

/// True for a regular file no other name links (one fstat).
fn writable_in_place(file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    file.metadata().is_ok_and(|meta| meta.is_file() && meta.nlink() == 1)
}

/// The error for an open file that is not a regular one; `None` for a
/// regular file.
fn not_regular(file: &File) -> Option<io::Error> {
    match file.metadata() {
        Ok(meta) if meta.is_file() => None,
        Ok(_) => Some(io::Error::new(ErrorKind::InvalidData, "is not a regular file")),
        Err(e) => Some(e),
    }
}

/// Removes a state file (a symlink under its name is removed, never its
/// target) and any temporary file a killed write of it left; a file that
/// is not there is no error.
pub fn remove(path: &Path) -> io::Result<()> {
    let _ = remove_if_present(&temp_path(path));
    remove_if_present(path)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_a_symlink_instead_of_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let state = dir.path().join("state");
        std::os::unix::fs::symlink(&victim, &state).unwrap();
        assert_eq!(read(&state).unwrap_err().kind(), ErrorKind::InvalidData);
        write(&state, b"new", 0o600).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(read(&state).unwrap().unwrap(), b"new");
        assert!(!fs::symlink_metadata(&state).unwrap().file_type().is_symlink());
    }

    #[test]
    fn a_hint_is_written_in_place_but_never_through_a_symlink_or_into_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let hint = dir.path().join("hint");
        write_hint(&hint, b"10.0.0.12", 0o600).unwrap();
        write_hint(&hint, b"10.0.0.9", 0o600).unwrap();
        assert_eq!(read(&hint).unwrap().unwrap(), b"10.0.0.9");
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        fs::remove_file(&hint).unwrap();
        std::os::unix::fs::symlink(&victim, &hint).unwrap();
        write_hint(&hint, b"10.0.0.5", 0o600).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(!fs::symlink_metadata(&hint).unwrap().file_type().is_symlink());
        assert_eq!(read(&hint).unwrap().unwrap(), b"10.0.0.5");
        fs::remove_file(&hint).unwrap();
        let fifo = std::ffi::CString::new(hint.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        write_hint(&hint, b"10.0.0.6", 0o600).unwrap();
        assert_eq!(read(&hint).unwrap().unwrap(), b"10.0.0.6");
        // A hard link planted under the name: the linked file is untouched.
        fs::remove_file(&hint).unwrap();
        fs::hard_link(&victim, &hint).unwrap();
        write_hint(&hint, b"10.0.0.7", 0o600).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(read(&hint).unwrap().unwrap(), b"10.0.0.7");
        // A directory under the name is an error, as for `write`, and stays.
        fs::remove_file(&hint).unwrap();
        fs::create_dir(&hint).unwrap();
        assert!(write_hint(&hint, b"10.0.0.8", 0o600).is_err());
        assert!(hint.is_dir());
    }

    #[test]
    fn create_new_refuses_any_existing_name() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let taken = dir.path().join("taken");
        std::os::unix::fs::symlink(&victim, &taken).unwrap();
        assert!(!create_new(&taken, b"x", 0o600).unwrap());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        let fresh = dir.path().join("fresh");
        assert!(create_new(&fresh, b"content", 0o600).unwrap());
        assert!(!create_new(&fresh, b"other", 0o600).unwrap());
        assert_eq!(fs::read(&fresh).unwrap(), b"content");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
    }

    #[test]
    fn a_killed_writers_debris_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        fs::write(temp_path(&state), "half").unwrap();
        write(&state, b"whole", 0o600).unwrap();
        assert!(!temp_path(&state).exists());
        fs::write(temp_path(&state), "half").unwrap();
        remove(&state).unwrap();
        assert!(!state.exists() && !temp_path(&state).exists());
        remove(&state).unwrap();
    }

    #[test]
    fn reads_only_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("none")).unwrap().is_none());
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(read(&fifo).unwrap_err().kind(), ErrorKind::InvalidData);
        assert_eq!(read(dir.path()).unwrap_err().kind(), ErrorKind::InvalidData);
    }
}
