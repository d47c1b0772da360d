package file

import (
	"os"
	"syscall"
	"time"
)

// movedIntoPlace reports whether a file's content was complete before its
// last metadata change: a rename (or link) changes the inode's ctime but
// not its mtime, while every write changes both. Such a file was written
// elsewhere and moved into place, so it need not settle.
func movedIntoPlace(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	ctime := time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	return ctime.After(fi.ModTime())
}
