//! System V IPC objects as the kernel lists them (`/proc/sysvipc/*`), for
//! what a call's arguments do not say: a shared memory segment's size and
//! creator, a semaphore set's length.

/// A System V shared memory segment (a line of `/proc/sysvipc/shm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Its key (0: IPC_PRIVATE).
    pub key: i64,
    /// Its size in bytes.
    pub size: u64,
    /// The process that created it.
    pub cpid: i32,
}

/// The columns of the line of `/proc/sysvipc/NAME` whose second column is
/// `id`.
fn row(name: &str, id: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/sysvipc/{name}")).ok()?;
    text.lines().skip(1).find_map(|l| {
        let cols: Vec<String> = l.split_whitespace().map(str::to_string).collect();
        (cols.get(1)?.parse::<i32>().ok()? == id).then_some(cols)
    })
}

/// The shared memory segment `shmid`, if it exists (in reel's IPC
/// namespace).
pub fn segment(shmid: i32) -> Option<Segment> {
    let cols = row("shm", shmid)?;
    Some(Segment {
        key: cols.first()?.parse().ok()?,
        size: cols.get(3)?.parse().ok()?,
        cpid: cols.get(4)?.parse().ok()?,
    })
}

/// How many semaphores set `semid` holds, if it exists.
pub fn semaphores(semid: i32) -> Option<u64> {
    row("sem", semid)?.get(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_such_objects() {
        assert_eq!(segment(-5), None);
        assert_eq!(semaphores(-5), None);
    }
}
