/* natsbench: the peer of gatehouse-bench, the same work on bare libnats (Debian libnats-dev).
 *   natsbench echo URL           serve bench.echo until killed (the responder both clients use)
 *   natsbench bench URL N M      N sequential requests, then M publishes of 256 B; one JSON line */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void on_echo(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)sub; (void)closure;
    if (natsMsg_GetReply(msg) != NULL)
        natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int echo = argc > 1 && strcmp(argv[1], "echo") == 0;
    const char *url = argc > 2 ? argv[2] : "nats://127.0.0.1:4222";
    int requests = argc > 3 ? atoi(argv[3]) : 20000;
    int publishes = argc > 4 ? atoi(argv[4]) : 1000000;
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    char payload[256];
    memset(payload, 'a', sizeof payload);

    if (natsOptions_Create(&opts) != NATS_OK || natsOptions_SetURL(opts, url) != NATS_OK ||
        natsOptions_SetSendAsap(opts, true) != NATS_OK || natsConnection_Connect(&nc, opts) != NATS_OK) {
        fprintf(stderr, "natsbench: %s\n", nats_GetLastError(NULL));
        return 1;
    }
    if (echo) {
        if (natsConnection_Subscribe(&sub, nc, "bench.echo", on_echo, NULL) != NATS_OK || natsConnection_Flush(nc) != NATS_OK)
            return 1;
        printf("ready\n");
        fflush(stdout);
        for (;;) nats_Sleep(1000);
    }
    for (int i = 0; i < 1000; i++) {
        natsMsg *reply = NULL;
        if (natsConnection_Request(&reply, nc, "bench.echo", payload, sizeof payload, 5000) != NATS_OK) return 1;
        natsMsg_Destroy(reply);
    }
    double *samples = malloc(sizeof(double) * requests);
    for (int i = 0; i < requests; i++) {
        natsMsg *reply = NULL;
        double start = now_us();
        if (natsConnection_Request(&reply, nc, "bench.echo", payload, sizeof payload, 5000) != NATS_OK) return 1;
        samples[i] = now_us() - start;
        natsMsg_Destroy(reply);
    }
    qsort(samples, requests, sizeof(double), cmp);
    double start = now_us();
    for (int i = 0; i < publishes; i++)
        if (natsConnection_Publish(nc, "bench.sink", payload, sizeof payload) != NATS_OK) return 1;
    if (natsConnection_FlushTimeout(nc, 60000) != NATS_OK) return 1;
    double seconds = (now_us() - start) / 1e6;
    printf("{\"impl\":\"c\",\"requests\":%d,\"rr_p50_us\":%.1f,\"rr_p99_us\":%.1f,\"publishes\":%d,\"pub_msgs_per_s\":%.0f}\n",
           requests, samples[requests / 2], samples[(int)(requests * 0.99)], publishes, publishes / seconds);
    free(samples);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    return 0;
}
