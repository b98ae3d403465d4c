/* uswap.c: the C client of `uswap serve`; see uswap.h. */
#define _GNU_SOURCE
#include "uswap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static int fail(struct uswap_region *r, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof r->error, fmt, ap);
	va_end(ap);
	errno = saved ? saved : EINVAL;
	return -1;
}

/* open_uffd opens a userfaultfd (the daemon agrees the API on it):
 * /dev/userfaultfd, else the system call, else user-mode faults only. */
static int open_uffd(void)
{
	int flags = O_CLOEXEC | O_NONBLOCK;
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		int fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	int fd = syscall(SYS_userfaultfd, flags);
	if (fd < 0 && errno == EPERM)
		fd = syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY);
	return fd;
}

/* request sends msg (with fds, if nfds > 0) and reads the reply into
 * reply; it returns 0 if the reply says "ok":true. */
static int request(struct uswap_region *r, const char *msg, const int *fds, int nfds,
		   char *reply, size_t reply_size)
{
	struct iovec iov = { (void *)msg, strlen(msg) };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 0) {
		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	if (sendmsg(r->sock, &mh, MSG_NOSIGNAL) < 0)
		return fail(r, "uswap: sending to the daemon: %s", strerror(errno));
	ssize_t n = recv(r->sock, reply, reply_size - 1, 0);
	if (n <= 0)
		return fail(r, "uswap: no reply from the daemon: %s", n == 0 ? "connection closed" : strerror(errno));
	reply[n] = 0;
	if (!strstr(reply, "\"ok\":true")) {
		const char *e = strstr(reply, "\"error\":\"");
		errno = EINVAL;
		return fail(r, "uswap: the daemon refused: %s", e ? e + 9 : reply);
	}
	return 0;
}

static uint64_t field(const char *reply, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, "\"%s\":", name);
	const char *p = strstr(reply, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

void *uswap_map(const char *socket_path, size_t size, size_t budget, struct uswap_region *r)
{
	long page = sysconf(_SC_PAGESIZE);
	memset(r, 0, sizeof *r);
	r->sock = -1;
	size = (size + page - 1) & ~(size_t)(page - 1);
	if (size == 0) {
		errno = EINVAL;
		fail(r, "uswap: a region of 0 bytes");
		return NULL;
	}
	int memfd = -1, uffd = -1;
	void *addr = MAP_FAILED;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		fail(r, "uswap: socket path too long: %s", socket_path);
		return NULL;
	}
	strcpy(sa.sun_path, socket_path);

	memfd = memfd_create("uswap-region", MFD_CLOEXEC);
	if (memfd < 0) {
		fail(r, "uswap: memfd_create: %s", strerror(errno));
		goto out;
	}
	if (ftruncate(memfd, size) < 0) {
		fail(r, "uswap: sizing the memfd: %s", strerror(errno));
		goto out;
	}
	addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (addr == MAP_FAILED) {
		fail(r, "uswap: mmap: %s", strerror(errno));
		goto out;
	}
	if (madvise(addr, size, MADV_DONTFORK) < 0) {
		fail(r, "uswap: MADV_DONTFORK: %s", strerror(errno));
		goto out;
	}
	uffd = open_uffd();
	if (uffd < 0) {
		fail(r, "uswap: userfaultfd: %s", strerror(errno));
		goto out;
	}
	r->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (r->sock < 0) {
		fail(r, "uswap: socket: %s", strerror(errno));
		goto out;
	}
	if (connect(r->sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fail(r, "uswap: connecting to %s: %s", socket_path, strerror(errno));
		goto out;
	}
	char msg[256], reply[1024];
	snprintf(msg, sizeof msg,
		 "{\"version\":1,\"op\":\"register\",\"base\":%" PRIu64 ",\"size\":%zu,\"budget\":%zu}",
		 (uint64_t)(uintptr_t)addr, size, budget);
	int fds[2] = { uffd, memfd };
	if (request(r, msg, fds, 2, reply, sizeof reply) < 0)
		goto out;
	/* The daemon holds both now; the mapping keeps the memfd's file. */
	close(uffd);
	close(memfd);
	r->addr = addr;
	r->size = size;
	r->id = field(reply, "region");
	r->budget_pages = field(reply, "budget_pages");
	return addr;
out:
	if (r->sock >= 0)
		close(r->sock);
	r->sock = -1;
	if (uffd >= 0)
		close(uffd);
	if (addr != MAP_FAILED)
		munmap(addr, size);
	if (memfd >= 0)
		close(memfd);
	return NULL;
}

int uswap_stats(struct uswap_region *r, int64_t *resident, uint64_t *swap_ins)
{
	char reply[1024];
	if (request(r, "{\"version\":1,\"op\":\"stats\"}", NULL, 0, reply, sizeof reply) < 0)
		return -1;
	*resident = (int64_t)field(reply, "resident_pages");
	*swap_ins = field(reply, "swap_ins");
	return 0;
}

int uswap_unmap(struct uswap_region *r)
{
	char reply[1024];
	/* Close first: an unmap of a registered region waits for the daemon
	 * to read its UNMAP event, and the daemon may be stopping. */
	int ret = request(r, "{\"version\":1,\"op\":\"close\"}", NULL, 0, reply, sizeof reply);
	if (munmap(r->addr, r->size) < 0 && ret == 0)
		ret = fail(r, "uswap: munmap: %s", strerror(errno));
	close(r->sock);
	r->sock = -1;
	r->addr = NULL;
	return ret;
}
