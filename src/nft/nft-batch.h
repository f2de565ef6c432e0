/* nft-batch.h - one nftables transaction: messages collected in a buffer,
 * sent in one sendmsg between BATCH_BEGIN and BATCH_END, and applied by
 * the kernel all or nothing.  Errors name the object the kernel refused. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

typedef struct CnNftBatch CnNftBatch;

CnNftBatch *cn_nft_batch_new(void);
void cn_nft_batch_free(CnNftBatch *batch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnNftBatch, cn_nft_batch_free)

/* Each adds one message; DESCRIPTION names it in errors.  The objects are
 * serialised at once and may be freed afterwards. */
void cn_nft_batch_table(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_table *table,
                        const char *description);
void cn_nft_batch_chain(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_chain *chain,
                        const char *description);
void cn_nft_batch_rule(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_rule *rule,
                       const char *description);
void cn_nft_batch_set(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_set *set,
                      const char *description);
/* Elements already added to SET with nftnl_set_elem_add. */
void cn_nft_batch_elements(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_set *set,
                           const char *description);
guint cn_nft_batch_count(const CnNftBatch *batch);

/* The batch as text, message by message, the way nftables' own payload
 * tests show netlink (libnftnl's output: "[ meta load iifname => reg 1 ]"),
 * without sequence numbers: for golden files that catch any change in
 * what goes to the kernel, without a kernel. */
char *cn_nft_batch_dump(const CnNftBatch *batch);

/* The bytes that would be sent, *LENGTH of them (for tests: what the
 * kernel gets, padding included). */
const guint8 *cn_nft_batch_bytes(const CnNftBatch *batch, gsize *length);

/* Sends the batch.  FALSE with the kernel's reason and the refused
 * object's description. */
gboolean cn_nft_batch_commit(CnNftBatch *batch, GError **error);
