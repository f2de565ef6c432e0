/* hook.h - carthage-net-hook: what libvirt hands the hook, as plain data.
 *
 * libvirt runs the hook as HOOK OBJECT OPERATION SUBOP EXTRA with the
 * network (<hookData>) or domain XML on stdin.  hook-xml.c reads that XML
 * with GLib's GMarkup (libxml2 alone costs milliseconds of start-up);
 * hook-network.c and hook-qemu.c act on it.  The hook never calls libvirt
 * (libvirt waits for it: a call back deadlocks) and never links it.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "events.h"
#include "hook-record.h"
#include "nft.h"

typedef struct {
    char *name;
    char *prefix;
} HookPool;

/* <network> (network hooks): libvirt's part and ours. */
typedef struct {
    char *name;
    char *bridge;
    gboolean ours;          /* carries carthage-net's <metadata> */
    CnIsoNetwork *iso;      /* when ours */
    CnHookRecord *record;   /* when ours: its guests (which machine owns which MAC) */
    GPtrArray *pools;       /* HookPool* */
    uint32_t mtu;
    gboolean masquerade;    /* <forward mode='nat'> to the host's own address */
} HookNetwork;

/* <networkport> (port-created / port-deleted). */
typedef struct {
    gboolean present;
    char *owner;            /* domain name */
    uint8_t mac[6];
    gboolean has_mac;
} HookPort;

/* One <interface> of a domain. */
typedef struct {
    char *type;             /* network, ethernet, bridge, ... */
    char *network;          /* <source network>, when type network */
    char *tap;              /* <target dev>, once libvirt made it */
    uint8_t mac[6];
    gboolean has_mac;
} HookInterface;

/* One <cn:link> of the domain's carthage-net metadata. */
typedef struct {
    char *network;
    char *iface;
    uint8_t mac[6];
    GArray *addresses;      /* uint32_t */
    GArray *nat;            /* CnIsoNat: 1:1 NAT pairs */
    gboolean has_v6;
    CnV6Address v6;         /* its static IPv6 address */
    CnEndpoint handler;
    char *tap;
    char *ovn_port;         /* on an OVN network: its logical port (OVN guards it) */
    uint32_t snat;          /* on an OVN network with forward nat: the router's SNAT address */
} HookLink;

typedef struct {
    char *name;             /* the libvirt domain's */
    char *machine;          /* carthage-net's machine (its metadata), NULL: none */
    GPtrArray *interfaces;  /* HookInterface* */
    GPtrArray *links;       /* HookLink* */
} HookDomain;

typedef struct {
    HookNetwork network;
    HookPort port;
    HookDomain domain;
    gboolean has_network, has_domain;
} HookInput;

#define HOOK_ERROR (hook_error_quark())
GQuark hook_error_quark(void);

HookInput *hook_input_parse(const char *text, gsize length, GError **error);
/* Only the <networkport> of a network hook's <hookData>, found from the
 * end, where libvirt puts it after the network: what port-created reads
 * when the network's record answers the rest, at a cost that does not
 * grow with the machines the network defines.  NULL without an error
 * when the XML does not end with one, then </hookData> (read it whole
 * then). */
HookInput *hook_input_parse_port(const char *text, gsize length, GError **error);
void hook_input_free(HookInput *input);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HookInput, hook_input_free)

/* The link of the domain's metadata with MAC, or NULL. */
const HookLink *hook_domain_link(const HookDomain *domain, const uint8_t mac[6]);

/* What every event handler gets. */
typedef struct {
    const char *object;    /* network, qemu */
    const char *operation; /* start, started, port-created, ... */
    const char *name;      /* argv[1]: network or domain name */
    const char *state_dir; /* pools */
    const char *run_dir;   /* the hook's own records (tmpfs) */
    const char *events_dir; /* subscribers */
    const char *text;      /* the XML on stdin, as read */
    gsize length;
    HookInput *input;      /* what was parsed of it */
    GPtrArray *events;     /* CnEvent* to log when the handler is done */
} HookEvent;

/* 0: done (or nothing to do); otherwise abort the libvirt operation with
 * ERROR's message (callers decide whether libvirt heeds it). */
gboolean hook_network_event(const HookEvent *event, GError **error);
gboolean hook_qemu_event(const HookEvent *event, GError **error);

/* Queues a Carthage event (taken over); hook_flush_events logs the queue
 * with one fsync, starts the subscribers and empties it.  Failures are
 * logged, never fatal. */
void hook_emit(const HookEvent *event, CnEvent *cn_event);
void hook_flush_events(const HookEvent *event);

/* syslog, with the event's object, name and operation. */
void hook_log(const HookEvent *event, int priority, const char *format, ...) G_GNUC_PRINTF(3, 4);
