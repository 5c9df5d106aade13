/*
 * kafka-mock: a local Kafka-protocol broker for development and tests.
 *
 * Runs librdkafka's mock cluster (rdkafka_mock.h) in its own process.
 *
 *   usage: kafka-mock [brokers] [topic:partitions ...]
 *
 * - brokers: number of mock brokers (default 3, at most 16).
 * - topic:partitions: topics to create up front. Each partition holds at most 5 MiB or
 *   100,000 record batches (hard-coded in the mock), so more partitions mean more retention.
 *   Topics not listed are auto-created with 4 partitions on first use.
 *
 * Prints the bootstrap list ("127.0.0.1:p1,127.0.0.1:p2,...") as the first line on stdout once
 * every listener is bound. librdkafka logs go to stderr; the parent must keep both pipes drained.
 * Runs until SIGTERM or SIGINT (default action: exit at once, no teardown, because destroying the
 * cluster takes ~1 s once clients have connected). Dies with its parent (PR_SET_PDEATHSIG).
 *
 * Build: gcc -O2 -o .cache/kafka-mock src/dev/kafka-mock.c -lrdkafka   (apt: librdkafka-dev)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static int parse_int(const char *s, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
    perror("kafka-mock: prctl(PR_SET_PDEATHSIG)");
    return 1;
  }
  /* The parent may have died before prctl took effect. */
  if (getppid() != parent) return 1;

  int argi = 1;
  long brokers = 3;
  if (argi < argc && strchr(argv[argi], ':') == NULL) {
    if (parse_int(argv[argi], 1, 16, &brokers) != 0) {
      fprintf(stderr, "kafka-mock: broker count must be 1..16, got '%s'\n", argv[argi]);
      return 2;
    }
    argi++;
  }

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the mock cluster and never connects anywhere, so it has no
   * bootstrap.servers; log_level 4 hides the NOTICE that says so. Warnings and errors remain. */
  if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "kafka-mock: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    fprintf(stderr, "kafka-mock: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
  if (mc == NULL) {
    fprintf(stderr, "kafka-mock: rd_kafka_mock_cluster_new failed\n");
    return 1;
  }

  for (; argi < argc; argi++) {
    char *spec = argv[argi];
    char *colon = strrchr(spec, ':');
    long partitions = 0;
    if (colon == NULL || colon == spec || parse_int(colon + 1, 1, 100000, &partitions) != 0) {
      fprintf(stderr, "kafka-mock: expected topic:partitions, got '%s'\n", spec);
      return 2;
    }
    *colon = '\0';
    int replication = brokers < 3 ? (int)brokers : 3;
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, spec, (int)partitions, replication);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fprintf(stderr, "kafka-mock: creating topic '%s': %s\n", spec, rd_kafka_err2str(err));
      return 1;
    }
  }

  /* Listeners are bound by now: the parent may connect as soon as it reads this line. */
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  for (;;) pause();
}
