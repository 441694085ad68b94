/* Test image for kaisar-provider's container tests, built `gcc -static` into a FROM-scratch
 * image by the test itself (no registry is reachable).
 *   KAISAR_TEST_MODE=exit3  exit with code 3 at once
 *   KAISAR_TEST_MODE=oom    allocate and touch memory until the memory limit kills it
 *   otherwise               print the token, then serve it over HTTP on port $PORT (8080);
 *                           a request for /exit<N> answers, then exits with code N (1..=99)
 * The token is $KAISAR_ACCESS_TOKEN. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }

int main(void) {
  const char *mode = getenv("KAISAR_TEST_MODE");
  const char *token = getenv("KAISAR_ACCESS_TOKEN");
  const char *port_s = getenv("PORT");
  if (mode && strcmp(mode, "exit3") == 0) return 3;
  if (mode && strcmp(mode, "oom") == 0) {
    for (;;) {
      char *p = malloc(1 << 20);
      if (!p) return 4;
      memset(p, 1, 1 << 20);
    }
  }
  signal(SIGTERM, on_term);
  if (!token) token = "";
  printf("token %s\n", token);
  fflush(stdout);
  int port = port_s ? atoi(port_s) : 8080;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0) {
    perror("listen");
    return 2;
  }
  for (;;) {
    int c = accept(s, 0, 0);
    if (c < 0) continue;
    char buf[2048];
    ssize_t got = read(c, buf, sizeof buf - 1);
    buf[got > 0 ? got : 0] = 0;
    if (strncmp(buf, "GET /exit", 9) == 0) {
      int code = atoi(buf + 9);
      const char *bye = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nbye";
      (void)write(c, bye, strlen(bye));
      close(c);
      _exit(code > 0 && code < 100 ? code : 1);
    }
    char out[512];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(token), token);
    (void)write(c, out, n);
    close(c);
  }
}
