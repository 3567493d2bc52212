/* natsload: an open-loop request generator on bare libnats (Debian libnats-dev), so the load
 * generator of the access benchmark costs the shared cores as little as possible.
 *
 *   natsload URL SUBJECT TENANT RATE SECONDS FILE
 *
 * FILE holds one request payload per line (used round robin). Request i is due at start + i/RATE and
 * its latency counts from that instant (no coordinated omission). Each request carries the headers
 * MessageBus.request sends (Gatehouse-Tenant, Gatehouse-Deadline 5 s ahead, traceparent) and a reply
 * subject of its own; a reply holding "error" at its top level, or none within 5 s, is an error.
 * Prints one JSON line: {"n","errors","p50_us","p99_us","p999_us","max_us","total"} (total: replies
 * containing "granted":true). */
#define _GNU_SOURCE
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_US 5000000.0

static double *due_us, *latency_us;
static char *answered; /* 0 none, 1 answered, 2 error */
static int granted_total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char inbox_prefix[64];

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void on_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc; (void)sub; (void)closure;
    double now = now_us();
    const char *subject = natsMsg_GetSubject(msg);
    long index = strtol(subject + strlen(inbox_prefix), NULL, 10);
    const char *data = natsMsg_GetData(msg);
    int length = natsMsg_GetDataLength(msg);
    int error = length >= 9 && strncmp(data, "{\"error\":", 9) == 0;
    int granted = !error && memmem(data, length, "\"granted\":true", 14) != NULL;
    pthread_mutex_lock(&lock);
    if (answered[index] == 0) {
        double elapsed = now - due_us[index];
        answered[index] = (error || elapsed > TIMEOUT_US) ? 2 : 1;
        latency_us[index] = elapsed;
        granted_total += granted;
    }
    pthread_mutex_unlock(&lock);
    natsMsg_Destroy(msg);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: natsload URL SUBJECT TENANT RATE SECONDS FILE\n");
        return 2;
    }
    const char *url = argv[1], *subject = argv[2], *tenant = argv[3], *path = argv[6];
    int rate = atoi(argv[4]), seconds = atoi(argv[5]);
    long count = (long)rate * seconds;
    FILE *file = fopen(path, "r");
    if (!file || rate <= 0 || seconds <= 0) {
        fprintf(stderr, "natsload: bad arguments or unreadable %s\n", path);
        return 2;
    }
    char **payloads = NULL;
    int payload_count = 0, capacity = 0;
    char *line = NULL;
    size_t size = 0;
    ssize_t read;
    while ((read = getline(&line, &size, file)) > 0) {
        if (line[read - 1] == '\n') line[--read] = 0;
        if (read == 0) continue;
        if (payload_count == capacity) payloads = realloc(payloads, sizeof(char *) * (capacity = capacity ? capacity * 2 : 64));
        payloads[payload_count++] = strdup(line);
    }
    fclose(file);
    if (payload_count == 0) return 2;

    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    if (natsOptions_Create(&opts) != NATS_OK || natsOptions_SetURL(opts, url) != NATS_OK ||
        natsOptions_SetSendAsap(opts, true) != NATS_OK || natsConnection_Connect(&nc, opts) != NATS_OK) {
        fprintf(stderr, "natsload: %s\n", nats_GetLastError(NULL));
        return 1;
    }
    snprintf(inbox_prefix, sizeof inbox_prefix, "_INBOX.natsload%ld.", (long)getpid());
    char wildcard[80];
    snprintf(wildcard, sizeof wildcard, "%s*", inbox_prefix);
    if (natsConnection_Subscribe(&sub, nc, wildcard, on_reply, NULL) != NATS_OK ||
        natsSubscription_SetPendingLimits(sub, -1, -1) != NATS_OK || natsConnection_Flush(nc) != NATS_OK) {
        fprintf(stderr, "natsload: %s\n", nats_GetLastError(NULL));
        return 1;
    }
    due_us = calloc(count, sizeof(double));
    latency_us = calloc(count, sizeof(double));
    answered = calloc(count, 1);
    double start = now_us() + 50000;
    double interval = 1e6 / rate;
    char reply[96], deadline[32];
    for (long i = 0; i < count; i++) {
        double due = start + interval * i;
        due_us[i] = due;
        double wait = due - now_us();
        if (wait > 0) {
            struct timespec ts = {(time_t)(wait / 1e6), (long)((wait - (time_t)(wait / 1e6) * 1e6) * 1000)};
            nanosleep(&ts, NULL);
        }
        natsMsg *msg = NULL;
        snprintf(reply, sizeof reply, "%s%ld", inbox_prefix, i);
        const char *payload = payloads[i % payload_count];
        if (natsMsg_Create(&msg, subject, reply, payload, (int)strlen(payload)) != NATS_OK) return 1;
        snprintf(deadline, sizeof deadline, "%.0f", wall_ms() + TIMEOUT_US / 1000);
        natsMsgHeader_Set(msg, "Gatehouse-Tenant", tenant);
        natsMsgHeader_Set(msg, "Gatehouse-Deadline", deadline);
        natsMsgHeader_Set(msg, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        if (natsConnection_PublishMsg(nc, msg) != NATS_OK) {
            pthread_mutex_lock(&lock);
            answered[i] = 2;
            pthread_mutex_unlock(&lock);
        }
        natsMsg_Destroy(msg);
    }
    /* Every request gets its 5 s. */
    double end = start + interval * (count - 1) + TIMEOUT_US;
    for (;;) {
        long pending = 0;
        pthread_mutex_lock(&lock);
        for (long i = 0; i < count; i++) pending += answered[i] == 0;
        pthread_mutex_unlock(&lock);
        if (pending == 0 || now_us() > end) break;
        nats_Sleep(20);
    }
    natsSubscription_Unsubscribe(sub);
    pthread_mutex_lock(&lock);
    double *samples = malloc(sizeof(double) * count);
    long n = 0, errors = 0;
    for (long i = 0; i < count; i++) {
        if (answered[i] == 1) samples[n++] = latency_us[i];
        else errors++;
    }
    int total = granted_total;
    pthread_mutex_unlock(&lock);
    qsort(samples, n, sizeof(double), cmp);
#define PCT(p) (n ? samples[(long)(n * (p)) < n ? (long)(n * (p)) : n - 1] : 0)
    printf("{\"n\":%ld,\"errors\":%ld,\"p50_us\":%.0f,\"p99_us\":%.0f,\"p999_us\":%.0f,\"max_us\":%.0f,\"total\":%d}\n", n, errors, PCT(0.50),
           PCT(0.99), PCT(0.999), n ? samples[n - 1] : 0, total);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    return 0;
}
