//! Small filesystem helpers with the durability and permission rules the
//! format needs.

use std::fs::{DirBuilder, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::error::{IoContext, TraceError};

/// Creates `path` with mode 0700 (exactly, whatever the umask).
pub(crate) fn mkdir_private(path: &Path) -> std::io::Result<()> {
    DirBuilder::new().mode(0o700).create(path)?;
    // The umask may have removed bits we want, never added any; set it
    // explicitly so the result does not depend on the caller's umask.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// fsyncs a directory, so that entries created or renamed in it are durable.
pub(crate) fn sync_dir(path: &Path) -> Result<(), TraceError> {
    File::open(path).and_then(|d| d.sync_all()).at(path)
}

/// Writes `bytes` to `dir/name` atomically: readers see the old file or the
/// whole new one, even after a crash.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), TraceError> {
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let target = dir.join(name);
    let mut f = File::create(&tmp).at(&tmp)?;
    f.write_all(bytes).at(&tmp)?;
    f.sync_all().at(&tmp)?;
    drop(f);
    std::fs::rename(&tmp, &target).at(&target)?;
    sync_dir(dir)
}
