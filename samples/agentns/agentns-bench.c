// SPDX-License-Identifier: GPL-2.0
/*
 * What agent namespaces cost, in guest instructions: run under QEMU with
 * -icount shift=0,sleep=off, where CLOCK_MONOTONIC advances one nanosecond
 * per executed instruction, so every figure is an exact instruction count.
 *
 *   agentns-bench [-n N] [-s SESSIONS] [-x NOOP] [-d EXT4_DIR]
 *
 * N scales the loops (default 100000 getppid calls), SESSIONS is the number
 * of live sessions of the scale test (default 10000, 0 skips it), NOOP is a
 * static program that only exits (for the execve loop), EXT4_DIR a
 * directory on ext4 for a second file-creation row.  On a kernel
 * without agent namespaces only the variants that need none run.
 *
 * Output, one figure per line, for scripts/bench-report.py:
 *   B <benchmark> <variant> <instructions per operation>
 *   I <key> <value>        facts the report prints beside the table
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/agent_namespaces.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static long n = 100000;
static long nsessions = 10000;
static const char *noop = "/extra/agentns-noop";
static int null_fd, zero_fd;
/* send: a socket pair; splice: a pipe; copy_file_range: two tmpfs files. */
static int sock[2], pipe_fd[2], cfr_in, cfr_out;

/* An io_uring instance driven with raw system calls (no liburing). */
static struct {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail;
	struct io_uring_sqe *sqes;
} ring = { .fd = -1 };

static long long now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "agentns-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
}

/* The hooked operations, one per call. */
static void op_getppid(void)
{
	syscall(SYS_getppid);
}

static void op_write(void)
{
	if (write(null_fd, "x", 1) != 1)
		die("write");
}

static void op_read(void)
{
	char c;

	if (read(zero_fd, &c, 1) != 1)
		die("read");
}

static void op_open(void)
{
	int fd = open("/dev/null", O_RDONLY);

	if (fd < 0)
		die("open");
	close(fd);
}

/* A new file at @path (labelled by the agentns LSM in a session), closed and removed. */
static void create_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	if (fd < 0)
		die("create");
	close(fd);
	if (unlink(path))
		die("unlink");
}

/*
 * The files, each in a directory of its own per variant: a directory's
 * state (tmpfs's offset map, ext4's blocks) grows with the files it has
 * seen, which would otherwise make a later variant pay for an earlier one.
 */
static char tmpfs_file[256], ext4_file[256];
static const char *ext4_dir;	/* -d: an ext4 file system, or none */

/* On tmpfs, which keeps security xattrs in a per-inode hash table. */
static void op_create_file(void)
{
	create_file(tmpfs_file);
}

/* On ext4 (the xattr goes in the inode). */
static void op_create_file_ext4(void)
{
	create_file(ext4_file);
}

/* A fresh directory @parent/agentns-bench-@variant, and @file in it. */
static void fresh_dir(char *file, size_t size, const char *parent, const char *variant)
{
	char dir[200];

	snprintf(dir, sizeof(dir), "%s/agentns-bench-%s", parent, variant);
	if (mkdir(dir, 0700) && errno != EEXIST)
		die("mkdir");
	snprintf(file, size, "%s/create", dir);
}

static void op_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		die("fork");
	reap(pid);
}

static void op_exec(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(noop, noop, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		die("fork");
	reap(pid);
}

static void op_send(void)
{
	char c;

	if (send(sock[0], "x", 1, 0) != 1 || recv(sock[1], &c, 1, 0) != 1)
		die("send/recv");
}

static void op_sendfile(void)
{
	if (sendfile(null_fd, zero_fd, NULL, 1) != 1)
		die("sendfile");
}

static void op_splice(void)
{
	if (splice(zero_fd, NULL, pipe_fd[1], NULL, 1, 0) != 1 ||
	    splice(pipe_fd[0], NULL, null_fd, NULL, 1, 0) != 1)
		die("splice");
}

static void op_copy_file_range(void)
{
	loff_t in = 0, out = 0;

	if (syscall(SYS_copy_file_range, cfr_in, &in, cfr_out, &out, 1, 0) != 1)
		die("copy_file_range");
}

/* Submits @nr entries prepared by @prep and waits for their completions. */
static void uring_submit(unsigned int nr, void (*prep)(struct io_uring_sqe *))
{
	unsigned int tail = *ring.sq_tail;

	for (unsigned int i = 0; i < nr; i++, tail++) {
		unsigned int idx = tail & *ring.sq_mask;

		memset(&ring.sqes[idx], 0, sizeof(ring.sqes[idx]));
		prep(&ring.sqes[idx]);
		ring.sq_array[idx] = idx;
	}
	__atomic_store_n(ring.sq_tail, tail, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring.fd, nr, nr,
		    IORING_ENTER_GETEVENTS, NULL, 0) != nr)
		die("io_uring_enter");
	__atomic_store_n(ring.cq_head, __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
}

static void prep_nop(struct io_uring_sqe *sqe)
{
	sqe->opcode = IORING_OP_NOP;
}

static void prep_write(struct io_uring_sqe *sqe)
{
	static const char x = 'x';

	sqe->opcode = IORING_OP_WRITE;
	sqe->fd = null_fd;
	sqe->addr = (unsigned long)&x;
	sqe->len = 1;
}

static void op_uring_write(void)
{
	uring_submit(1, prep_write);
}

static void op_uring_nop64(void)
{
	uring_submit(64, prep_nop);
}

/* Sets up the io_uring instance; false if the kernel has no io_uring. */
static bool uring_setup(void)
{
	struct io_uring_params p = { 0 };
	char *sq, *cq;

	ring.fd = syscall(__NR_io_uring_setup, 64, &p);
	if (ring.fd < 0)
		return false;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned int),
		  PROT_READ | PROT_WRITE, MAP_SHARED, ring.fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED, ring.fd, IORING_OFF_CQ_RING);
	ring.sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
			 PROT_READ | PROT_WRITE, MAP_SHARED, ring.fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || ring.sqes == MAP_FAILED)
		die("mmap io_uring");
	ring.sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	ring.sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	ring.sq_array = (unsigned int *)(sq + p.sq_off.array);
	ring.cq_head = (unsigned int *)(cq + p.cq_off.head);
	ring.cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	return true;
}

static const struct {
	const char *name;
	void (*fn)(void);
	long div;		/* iterations: n / div */
	bool uring;		/* needs io_uring */
	bool ext4;		/* needs -d */
} ops[] = {
	{ "getppid", op_getppid, 1 },
	{ "write-1B", op_write, 1 },
	{ "read-1B", op_read, 1 },
	{ "open+close", op_open, 10 },
	{ "fork+exit+wait", op_fork, 500 },
	{ "execve-noop", op_exec, 500 },
	{ "send+recv-1B", op_send, 2 },
	{ "sendfile-1B", op_sendfile, 2 },
	{ "splice-1B-in+out", op_splice, 2 },
	{ "copy_file_range-1B", op_copy_file_range, 2 },
	{ "io_uring-write-1B", op_uring_write, 4, true },
	{ "io_uring-64-nops", op_uring_nop64, 64, true },
	{ "create+close+unlink", op_create_file, 10 },
	{ "create+close+unlink-ext4", op_create_file_ext4, 10, false, true },
};

/*
 * Instructions per call of @fn: the best of three runs of @iters calls
 * (a timer tick or a deferred free landing in a run only adds), after a
 * pause that lets such background work finish (an idle guest costs no
 * host time under -icount with sleep=off).
 */
static double per_op(void (*fn)(void), long iters)
{
	double best = 0;

	if (iters < 1)
		iters = 1;
	usleep(50000);
	for (long i = 0; i < iters / 10 + 1; i++)	/* warm up */
		fn();
	for (int r = 0; r < 3; r++) {
		long long t = now();

		for (long i = 0; i < iters; i++)
			fn();
		t = now() - t;
		if (!r || t < best * iters)
			best = (double)t / iters;
	}
	return best;
}

static void run_ops(const char *variant)
{
	fresh_dir(tmpfs_file, sizeof(tmpfs_file), "/tmp", variant);
	if (ext4_dir)
		fresh_dir(ext4_file, sizeof(ext4_file), ext4_dir, variant);
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if ((ops[i].uring && ring.fd < 0) || (ops[i].ext4 && !ext4_dir))
			continue;
		printf("B %s %s %.2f\n", ops[i].name, variant,
		       per_op(ops[i].fn, n / ops[i].div));
		fflush(stdout);
	}
}

static int new_session(void)
{
	return prctl(PR_SET_AGENT_NS, 0, 0, 0, 0);
}

static int set_budget(const struct agent_ns_budget *b)
{
	return prctl(PR_SET_AGENT_BUDGET_LIMITS, b, sizeof(*b), 0, 0);
}

static struct agent_ns_counters counters(void)
{
	struct agent_ns_counters c;

	if (prctl(PR_GET_AGENT_COUNTERS, &c, sizeof(c), 0, 0))
		die("PR_GET_AGENT_COUNTERS");
	return c;
}

/* Run @fn in a child process; wait for it. */
static void in_child(void (*fn)(void))
{
	pid_t pid = fork();

	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0)
		die("fork");
	reap(pid);
}

static void op_get_counters(void)
{
	counters();
}

static int proc_fd;

static void op_read_proc(void)
{
	char buf[512];

	if (pread(proc_fd, buf, sizeof(buf), 0) <= 0)
		die("read /proc/self/agent_counters");
}

/* depth 1, the read paths, then as deep as the kernel allows. */
static void inside(void)
{
	struct agent_ns_budget b = { .max_syscalls = 1ULL << 62 };
	int depth = 1;

	if (new_session())
		die("PR_SET_AGENT_NS");
	run_ops("depth-1");
	printf("B PR_GET_AGENT_COUNTERS depth-1 %.2f\n", per_op(op_get_counters, n / 10));
	proc_fd = open("/proc/self/agent_counters", O_RDONLY);
	if (proc_fd < 0)
		die("open /proc/self/agent_counters");
	printf("B read-/proc/self/agent_counters depth-1 %.2f\n", per_op(op_read_proc, n / 100));
	close(proc_fd);
	/* A budget at the top of the chain, charged from the bottom. */
	if (set_budget(&b))
		die("PR_SET_AGENT_BUDGET_LIMITS");
	while (new_session() == 0)
		depth++;
	if (errno != ENOSPC)
		die("PR_SET_AGENT_NS (nesting)");
	printf("I max_depth %d\n", depth);
	printf("B getppid depth-%d,budget-at-1 %.2f\n", depth, per_op(op_getppid, n));
	printf("B write-1B depth-%d,budget-at-1 %.2f\n", depth, per_op(op_write, n));
}

static void deep_without_budget(void)
{
	int depth = 0;

	while (new_session() == 0)
		depth++;
	if (errno != ENOSPC)
		die("PR_SET_AGENT_NS (nesting)");
	run_ops("depth-32");
}

/*
 * Creation: one call in each of many fresh children, each child timing its
 * own call (a namespace is created, not yet freed).
 */
static int create_how;
static long long create_sum;

static void op_create(void)
{
	int pfd[2];
	long long t;
	pid_t pid;

	if (pipe(pfd))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		int r;

		t = now();
		r = create_how ? unshare(create_how) : new_session();
		t = now() - t;
		if (r)
			t = -1;
		if (write(pfd[1], &t, sizeof(t)) != sizeof(t))
			_exit(1);
		_exit(0);
	}
	if (pid < 0)
		die("fork");
	if (read(pfd[0], &t, sizeof(t)) != sizeof(t) || t < 0)
		die("namespace creation in a child");
	close(pfd[0]);
	close(pfd[1]);
	reap(pid);
	/* the caller sums the children's own times */
	create_sum += t;
}

static void creation(const char *name, int how, int have_agentns)
{
	long iters = n / 500 < 20 ? 20 : n / 500;

	if (!how && !have_agentns)
		return;
	create_how = how;
	create_sum = 0;
	for (long i = 0; i < iters; i++)
		op_create();
	printf("B create %s %.2f\n", name, (double)create_sum / iters);
}

/*
 * Overshoot: a session with a SIGKILL budget of @limit system calls and
 * @threads threads spinning in getppid(); the caller, in the parent
 * session, sees every counted call.  Calibrated by the same steps with no
 * budget (the child then makes one call: exit_group).
 */
static void *spin(void *unused)
{
	for (;;)
		syscall(SYS_getppid);
	return NULL;
}

static long long session_syscalls(unsigned long long limit, int threads)
{
	struct agent_ns_counters c0 = counters(), c1;
	int alive[2];
	pid_t pid;
	char c;

	if (pipe(alive))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		struct agent_ns_budget b = {
			.max_syscalls = limit, .action = AGENT_NS_ACTION_SIGKILL,
		};
		pthread_t t;

		close(alive[0]);
		if (new_session())
			_exit(1);
		if (!limit)
			_exit(0);
		if (set_budget(&b))
			_exit(2);
		for (int i = 1; i < threads; i++)
			pthread_create(&t, NULL, spin, NULL);
		spin(NULL);
	}
	if (pid < 0)
		die("fork");
	close(alive[1]);
	if (read(alive[0], &c, 1) != 0)	/* EOF: every thread has died */
		die("overshoot run");
	close(alive[0]);
	reap(pid);
	c1 = counters();
	return c1.total_syscalls - c0.total_syscalls;
}

static void overshoot_in_session(void)
{
	const unsigned long long limit = 20000;
	long long cal;

	cpu_set_t all;

	/* Threads on every cpu: the race this measures needs them. */
	CPU_ZERO(&all);
	for (int i = 0; i < sysconf(_SC_NPROCESSORS_ONLN); i++)
		CPU_SET(i, &all);
	if (sched_setaffinity(0, sizeof(all), &all))
		die("sched_setaffinity");
	if (new_session())
		die("PR_SET_AGENT_NS");
	cal = session_syscalls(0, 1);
	for (int threads = 1; threads <= 4; threads *= 4) {
		long long run = session_syscalls(limit, threads);
		/* the calibration run's calls are the fixed cost of one thread */
		printf("B overshoot %d-thread%s %lld\n", threads, threads > 1 ? "s" : "",
		       run - (cal - 1) - (long long)limit);
	}
}

/*
 * Byte overshoot: a session with a SIGKILL budget of 1 MiB on write_bytes
 * moves 4 MiB into a new tmpfs file with one call of each interface; how
 * many bytes the file holds (the overshoot is what is past 1 MiB).  The
 * crossing call is cut to what is left of the budget, and the SIGKILL is
 * queued before the copy starts, which stops at its first check for a
 * fatal signal: at most 1 MiB.
 */
#define MIB (1024 * 1024)
enum { BY_WRITE, BY_SENDFILE, BY_COPY_FILE_RANGE, BY_IO_URING, NR_BY };
static const char *const by_name[NR_BY] = {
	"write", "sendfile", "copy_file_range", "io_uring-write",
};

static char *big_buf;
static int big_out;

static void prep_big_write(struct io_uring_sqe *sqe)
{
	sqe->opcode = IORING_OP_WRITE;
	sqe->fd = big_out;
	sqe->addr = (unsigned long)big_buf;
	sqe->len = 4 * MIB;
}

static void byte_overshoot(void)
{
	int in = open("/tmp/agentns-bench-big-in", O_RDWR | O_CREAT | O_TRUNC, 0600);

	big_buf = malloc(4 * MIB);
	if (in < 0 || !big_buf)
		die("byte overshoot setup");
	memset(big_buf, 'x', 4 * MIB);
	if (write(in, big_buf, 4 * MIB) != 4 * MIB)
		die("byte overshoot input");
	for (int how = 0; how < NR_BY; how++) {
		struct stat st;
		loff_t off = 0;
		int status;
		pid_t pid;

		if (how == BY_IO_URING && ring.fd < 0)
			continue;
		big_out = open("/tmp/agentns-bench-big-out", O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (big_out < 0)
			die("byte overshoot output");
		pid = fork();
		if (pid == 0) {
			struct agent_ns_budget b = { .action = AGENT_NS_ACTION_SIGKILL };

			if (new_session())
				_exit(1);
			if (how == BY_IO_URING && !uring_setup())
				_exit(2);
			b.max_write_bytes = counters().write_bytes + MIB;
			if (set_budget(&b))
				_exit(3);
			switch (how) {
			case BY_WRITE:
				write(big_out, big_buf, 4 * MIB);
				break;
			case BY_SENDFILE:
				sendfile(big_out, in, &off, 4 * MIB);
				break;
			case BY_COPY_FILE_RANGE:
				syscall(SYS_copy_file_range, in, &off, big_out, NULL, 4 * MIB, 0);
				break;
			case BY_IO_URING:
				uring_submit(1, prep_big_write);
				break;
			}
			_exit(4);	/* not reached: the budget kills */
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			die("byte overshoot run");
		if (fstat(big_out, &st))
			die("fstat");
		/* Not killed by the budget: no figure (the report says so). */
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			printf("I byte_overshoot_%s_not_killed %d\n", by_name[how], status);
		else
			printf("B byte-written %s %lld\n", by_name[how], (long long)st.st_size);
		fflush(stdout);
		close(big_out);
	}
	close(in);
	unlink("/tmp/agentns-bench-big-in");
	unlink("/tmp/agentns-bench-big-out");
	free(big_buf);
}

/* Kilobytes of a /proc/meminfo line. */
static long meminfo_kb(const char *key)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = atol(line + strlen(key) + 1);
	fclose(f);
	return v;
}

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		die(path);
	close(fd);
}

/*
 * One reaper pass, from the workqueue tracepoints around agent_ns_reap()
 * (microseconds: thousands of instructions); -1 if there were none.
 */
static double reaper_tick_us(void)
{
	double t, start = -1, sum = 0;
	char line[512], *p;
	int ticks = 0, is_start;
	FILE *f;

	write_file("/sys/kernel/tracing/trace", "");
	write_file("/sys/kernel/tracing/events/workqueue/workqueue_execute_start/enable", "1");
	write_file("/sys/kernel/tracing/events/workqueue/workqueue_execute_end/enable", "1");
	write_file("/proc/sys/kernel/agent_ns/reap_interval", "1");
	sleep(3);
	write_file("/proc/sys/kernel/agent_ns/reap_interval", "60");
	write_file("/sys/kernel/tracing/events/workqueue/enable", "0");
	f = fopen("/sys/kernel/tracing/trace", "r");
	if (!f)
		die("/sys/kernel/tracing/trace");
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strstr(line, "function agent_ns_reap"))
			continue;
		p = strstr(line, ": workqueue_execute_");
		if (!p)
			continue;
		is_start = !strncmp(p + strlen(": workqueue_execute_"), "start", 5);
		*p = 0;
		p = strrchr(line, ' ');
		t = atof(p + 1) * 1e6;
		if (is_start) {
			start = t;
		} else if (start >= 0) {
			sum += t - start;
			ticks++;
			start = -1;
		}
	}
	fclose(f);
	return ticks ? sum / ticks : -1;
}

/*
 * Slab in kB once the deferred frees (RCU callbacks for exited tasks and
 * released namespaces) have run: drop caches until two readings agree.
 */
static long settled_slab_kb(void)
{
	long prev, cur = -1;

	for (int i = 0; i < 50; i++) {
		prev = cur;
		sync();
		write_file("/proc/sys/vm/drop_caches", "3");
		usleep(100000);
		cur = meminfo_kb("Slab");
		if (cur == prev)
			break;
	}
	return cur;
}

/*
 * Hold @count namespaces of one kind, each created by a short-lived child
 * and kept by an open /proc/PID/ns/@nsname file, and report the growth of
 * slab and per-cpu memory per namespace.
 */
static void hold_many(const char *nsname, int how, long count)
{
	long slab0, pcpu0, slab1, pcpu1;
	int *fds = calloc(count, sizeof(int));
	char path[64], c;
	int go[2];

	if (!fds)
		die("calloc");
	slab0 = settled_slab_kb();
	pcpu0 = meminfo_kb("Percpu");
	for (long i = 0; i < count; i++) {
		pid_t pid;

		if (pipe(go))
			die("pipe");
		pid = fork();
		if (pid == 0) {
			if (how ? unshare(how) : new_session())
				_exit(1);
			write(go[1], "x", 1);
			pause();
			_exit(0);
		}
		if (read(go[0], &c, 1) != 1)
			die("namespace holder");
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, nsname);
		fds[i] = open(path, O_RDONLY);
		if (fds[i] < 0)
			die(path);
		kill(pid, SIGKILL);
		close(go[0]);
		close(go[1]);
		reap(pid);
	}
	slab1 = settled_slab_kb();
	pcpu1 = meminfo_kb("Percpu");
	printf("I mem_per_%s_ns_bytes %.0f\n", nsname,
	       ((slab1 - slab0) + (pcpu1 - pcpu0)) * 1024.0 / count);
	printf("I pcpu_per_%s_ns_bytes %.0f\n", nsname, (pcpu1 - pcpu0) * 1024.0 / count);
	if (!how) {
		/* a reaper pass over all these sessions, none expired */
		printf("I reaper_tick_us_%ld_sessions %.0f\n", count, reaper_tick_us());
		/*
		 * Reading the counters of the session they are all below
		 * (the caller's): every read sums every one of them.
		 */
		printf("I counters_read_us_%ld_prctl %.0f\n", count,
		       per_op(op_get_counters, 10) / 1000);
		proc_fd = open("/proc/self/agent_counters", O_RDONLY);
		if (proc_fd < 0)
			die("open /proc/self/agent_counters");
		printf("I counters_read_us_%ld_proc %.0f\n", count,
		       per_op(op_read_proc, 10) / 1000);
		close(proc_fd);
	}
	for (long i = 0; i < count; i++)
		close(fds[i]);
	free(fds);
}

/* The agent sessions of the scale test, all below one session of their own. */
static void hold_sessions_below_one(void)
{
	if (new_session())
		die("PR_SET_AGENT_NS");
	hold_many("agent", 0, nsessions);
}

static void scale(void)
{
	struct rlimit r = { nsessions + 64, nsessions + 64 };
	char max[32];

	if (setrlimit(RLIMIT_NOFILE, &r))
		die("RLIMIT_NOFILE");
	snprintf(max, sizeof(max), "%ld", nsessions + 64);
	write_file("/proc/sys/user/max_agent_namespaces", max);
	write_file("/proc/sys/user/max_uts_namespaces", max);
	/* A lifetime (longer than the test) that makes the reaper walk. */
	write_file("/proc/sys/kernel/agent_ns/max_lifetime", "86400");
	printf("I reaper_tick_us_0_sessions %.0f\n", reaper_tick_us());
	hold_many("uts", CLONE_NEWUTS, nsessions);
	in_child(hold_sessions_below_one);
	write_file("/proc/sys/kernel/agent_ns/max_lifetime", "0");
	printf("I sessions_held %ld\n", nsessions);
}

/*
 * The eBPF alternative: a tracepoint program on raw_syscalls:sys_enter
 * counting system calls per task in a hash map (what `bpftrace -e
 * 'tracepoint:raw_syscalls:sys_enter { @[tid] = count(); }'` loads),
 * hand-assembled so that the guest needs no compiler.
 */
#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), \
			     .src_reg = (s), .off = (o), .imm = (i) })

static int bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int bpf_fds[3], nbpf_fds;

static int bpf_count_syscalls(void)
{
	union bpf_attr a;
	int map, prog, id;
	char buf[32];
	FILE *f;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_HASH;
	a.key_size = 8;
	a.value_size = 8;
	a.max_entries = 1024;
	map = bpf(BPF_MAP_CREATE, &a);
	if (map < 0)
		return -1;
	bpf_fds[nbpf_fds++] = map;
	struct bpf_insn insns[] = {
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_current_pid_tgid),
		INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_0, -8, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 3, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_1, 0, BPF_ADD),
		INSN(BPF_JMP | BPF_JA, 0, 0, 9, 0),
		INSN(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -16, 1),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -16),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, BPF_ANY),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_TRACEPOINT;
	a.insns = (unsigned long)insns;
	a.insn_cnt = ARRAY_SIZE(insns);
	a.license = (unsigned long)"GPL";
	prog = bpf(BPF_PROG_LOAD, &a);
	if (prog < 0)
		return -1;
	bpf_fds[nbpf_fds++] = prog;
	f = fopen("/sys/kernel/tracing/events/raw_syscalls/sys_enter/id", "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		return -1;
	fclose(f);
	id = atoi(buf);
	/*
	 * The program hangs off the tracepoint, which runs it on every cpu;
	 * one perf event (on cpu 0) attaches it.
	 */
	struct perf_event_attr pa = {
		.type = PERF_TYPE_TRACEPOINT, .size = sizeof(pa),
		.config = id, .sample_period = 1, .wakeup_events = 1,
	};
	int pfd = syscall(SYS_perf_event_open, &pa, -1, 0, -1, 0);

	if (pfd < 0)
		return -1;
	bpf_fds[nbpf_fds++] = pfd;
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog) || ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0))
		return -1;
	return map;
}

static void with_bpf(void)
{
	unsigned long long key = ((unsigned long long)getpid() << 32) | getpid(), val = 0;
	union bpf_attr a;
	int map = bpf_count_syscalls();

	if (map < 0) {
		printf("I bpf_unavailable %s\n", strerror(errno));
		return;
	}
	printf("B getppid bpf-count %.2f\n", per_op(op_getppid, n));
	printf("B write-1B bpf-count %.2f\n", per_op(op_write, n));
	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = (unsigned long)&key;
	a.value = (unsigned long)&val;
	if (bpf(BPF_MAP_LOOKUP_ELEM, &a) == 0)
		printf("I bpf_counted_syscalls %llu\n", val);
	while (nbpf_fds)
		close(bpf_fds[--nbpf_fds]);
}

int main(int argc, char **argv)
{
	unsigned char id[AGENT_NS_ID_BYTES];
	int have_agentns, opt, hold[2];
	cpu_set_t cpu0;
	pid_t holder;
	char c;

	while ((opt = getopt(argc, argv, "n:s:x:d:")) != -1) {
		switch (opt) {
		case 'n':
			n = atol(optarg);
			break;
		case 's':
			nsessions = atol(optarg);
			break;
		case 'x':
			noop = optarg;
			break;
		case 'd':
			ext4_dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-n N] [-s SESSIONS] [-x NOOP] [-d EXT4_DIR]\n",
				argv[0]);
			return 2;
		}
	}
	/* One cpu for the benchmark and its children: no migrations. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0))
		die("sched_setaffinity");
	null_fd = open("/dev/null", O_WRONLY);
	zero_fd = open("/dev/zero", O_RDONLY);
	if (null_fd < 0 || zero_fd < 0)
		die("/dev/null, /dev/zero");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock) || pipe(pipe_fd))
		die("socketpair, pipe");
	cfr_in = open("/tmp/agentns-bench-in", O_RDWR | O_CREAT | O_TRUNC, 0600);
	cfr_out = open("/tmp/agentns-bench-out", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (cfr_in < 0 || cfr_out < 0 || write(cfr_in, "x", 1) != 1)
		die("/tmp/agentns-bench-*");
	printf("I io_uring %s\n", uring_setup() ? "yes" : "no");
	have_agentns = prctl(PR_GET_AGENT_SESSION_ID, id, 0, 0, 0) == 0;
	printf("I agent_ns %s\n", have_agentns ? "yes" : "no");
	printf("I cpus %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("I n %ld\n", n);

	/*
	 * No session anywhere: the static key is off (the KUnit suites'
	 * sessions at boot are gone a second after they are freed).
	 */
	sleep(2);
	run_ops("no-session");
	creation("unshare(CLONE_NEWUTS)", CLONE_NEWUTS, have_agentns);
	creation("unshare(CLONE_NEWTIME)", CLONE_NEWTIME, have_agentns);
	creation("prctl(PR_SET_AGENT_NS)", 0, have_agentns);
	if (!have_agentns) {
		with_bpf();
		return 0;
	}

	/* A session exists, held by a sleeping child; we stay outside it. */
	if (pipe(hold))
		die("pipe");
	holder = fork();
	if (holder == 0) {
		if (new_session())
			_exit(1);
		read(hold[0], &c, 1);
		_exit(0);
	}
	usleep(100000);
	run_ops("outside");

	in_child(inside);
	in_child(deep_without_budget);
	in_child(overshoot_in_session);
	in_child(byte_overshoot);
	write(hold[1], "x", 1);
	reap(holder);

	sleep(2);	/* the last session is gone and the key is off again */
	with_bpf();
	if (nsessions)
		scale();
	return 0;
}
