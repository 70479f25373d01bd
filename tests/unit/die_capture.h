/* die_capture.h — run a function that may die() in a child process and capture its exit
 * status and stderr, so unit tests can check the "tool: where: what" paths. */
#ifndef SPARSETUNE_DIE_CAPTURE_H
#define SPARSETUNE_DIE_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Returns the child's exit status (-1 if it was killed by a signal); its stderr, NUL
 * terminated and cut to cap, goes into msg. */
static inline int die_capture(void (*fn)(void *), void *arg, char *msg, size_t cap) {
    int fds[2];
    msg[0] = '\0';
    if (pipe(fds) != 0) return -2;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -2;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t got;
    char sink[256];
    while ((got = read(fds[0], n + 1 < cap ? msg + n : sink,
                       n + 1 < cap ? cap - 1 - n : sizeof sink)) > 0)
        if (n + 1 < cap) n += (size_t)got;
    msg[n] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A fresh temporary directory (malloc'ed path); remove it with rm_tree. */
static inline char *make_tmpdir(void) {
    char tmpl[] = "/tmp/sparsetune-test-XXXXXX";
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        abort();
    }
    return strdup(tmpl);
}

static inline void rm_tree(char *dir) {
    if (!dir) return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    free(dir);
}

#endif
