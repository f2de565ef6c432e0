/* nft-expr.c - see nft-expr.h */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <string.h>

#include "nft-expr.h"

struct nftnl_rule *cn_nft_rule_new(uint32_t family, const char *table, const char *chain)
{
    struct nftnl_rule *rule = nftnl_rule_alloc();
    nftnl_rule_set_u32(rule, NFTNL_RULE_FAMILY, family);
    nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, table);
    nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, chain);
    return rule;
}

static struct nftnl_expr *add(struct nftnl_rule *rule, const char *name)
{
    struct nftnl_expr *expr = nftnl_expr_alloc(name);
    nftnl_rule_add_expr(rule, expr);
    return expr;
}

void cn_nft_meta(struct nftnl_rule *rule, uint32_t key, uint32_t dreg)
{
    struct nftnl_expr *expr = add(rule, "meta");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_META_DREG, dreg);
}

void cn_nft_payload(struct nftnl_rule *rule, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
    struct nftnl_expr *expr = add(rule, "payload");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

void cn_nft_cmp(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
    struct nftnl_expr *expr = add(rule, "cmp");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_CMP_SREG, sreg);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(expr, NFTNL_EXPR_CMP_DATA, data, len);
}

void cn_nft_cmp_u8(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, uint8_t value)
{
    cn_nft_cmp(rule, sreg, op, &value, 1);
}

void cn_nft_cmp_be16(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, uint16_t value)
{
    uint16_t be = htons(value);
    cn_nft_cmp(rule, sreg, op, &be, 2);
}

void cn_nft_cmp_ipv4(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, uint32_t address)
{
    uint32_t be = htonl(address);
    cn_nft_cmp(rule, sreg, op, &be, 4);
}

void cn_nft_cmp_ifname(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, const char *name)
{
    char padded[CN_NFT_IFNAME_LEN] = { 0 };
    size_t length = strlen(name);
    memcpy(padded, name, length < sizeof padded ? length : sizeof padded - 1);
    cn_nft_cmp(rule, sreg, op, padded, sizeof padded);
}

void cn_nft_lookup(struct nftnl_rule *rule, uint32_t sreg, const char *set, uint32_t set_id, int invert,
                   uint32_t dreg)
{
    struct nftnl_expr *expr = add(rule, "lookup");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_LOOKUP_SREG, sreg);
    nftnl_expr_set_str(expr, NFTNL_EXPR_LOOKUP_SET, set);
    if (set_id)
        nftnl_expr_set_u32(expr, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
    if (invert)
        nftnl_expr_set_u32(expr, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
    if (dreg)
        nftnl_expr_set_u32(expr, NFTNL_EXPR_LOOKUP_DREG, dreg);
}

void cn_nft_ct(struct nftnl_rule *rule, uint32_t key, int direction, uint32_t dreg)
{
    struct nftnl_expr *expr = add(rule, "ct");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_CT_KEY, key);
    if (direction >= 0)
        nftnl_expr_set_u8(expr, NFTNL_EXPR_CT_DIR, (uint8_t)direction);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_CT_DREG, dreg);
}

void cn_nft_bitwise(struct nftnl_rule *rule, uint32_t reg, const void *mask, const void *xor_value, uint32_t len)
{
    struct nftnl_expr *expr = add(rule, "bitwise");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_BITWISE_SREG, reg);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_BITWISE_DREG, reg);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_BITWISE_LEN, len);
    nftnl_expr_set(expr, NFTNL_EXPR_BITWISE_MASK, mask, len);
    nftnl_expr_set(expr, NFTNL_EXPR_BITWISE_XOR, xor_value, len);
}

void cn_nft_and(struct nftnl_rule *rule, uint32_t reg, const void *mask, uint32_t len)
{
    uint8_t zero[16] = { 0 };
    cn_nft_bitwise(rule, reg, mask, zero, len);
}

void cn_nft_meta_set(struct nftnl_rule *rule, uint32_t key, uint32_t sreg)
{
    struct nftnl_expr *expr = add(rule, "meta");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_META_SREG, sreg);
}

void cn_nft_immediate(struct nftnl_rule *rule, uint32_t dreg, const void *data, uint32_t len)
{
    struct nftnl_expr *expr = add(rule, "immediate");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_IMM_DREG, dreg);
    nftnl_expr_set(expr, NFTNL_EXPR_IMM_DATA, data, len);
}

void cn_nft_counter(struct nftnl_rule *rule)
{
    add(rule, "counter");
}

void cn_nft_verdict(struct nftnl_rule *rule, int verdict)
{
    struct nftnl_expr *expr = add(rule, "immediate");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

void cn_nft_jump(struct nftnl_rule *rule, const char *chain)
{
    struct nftnl_expr *expr = add(rule, "immediate");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_JUMP);
    nftnl_expr_set_str(expr, NFTNL_EXPR_IMM_CHAIN, chain);
}

void cn_nft_nat(struct nftnl_rule *rule, uint32_t type, uint32_t reg_addr, uint32_t reg_proto)
{
    struct nftnl_expr *expr = add(rule, "nat");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_NAT_TYPE, type);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg_addr);
    if (reg_proto)
        nftnl_expr_set_u32(expr, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_proto);
}

void cn_nft_reject_tcp_reset(struct nftnl_rule *rule)
{
    struct nftnl_expr *expr = add(rule, "reject");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST);
    nftnl_expr_set_u8(expr, NFTNL_EXPR_REJECT_CODE, 0);
}

/* OP @SET { SREG EXPR } */
static void dynset(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, const char *set, uint32_t set_id,
                   struct nftnl_expr *element_expr)
{
    struct nftnl_expr *expr = add(rule, "dynset");
    nftnl_expr_set_u32(expr, NFTNL_EXPR_DYNSET_SREG_KEY, sreg);
    nftnl_expr_set_u32(expr, NFTNL_EXPR_DYNSET_OP, op);
    nftnl_expr_set_str(expr, NFTNL_EXPR_DYNSET_SET_NAME, set);
    if (set_id)
        nftnl_expr_set_u32(expr, NFTNL_EXPR_DYNSET_SET_ID, set_id);
    nftnl_expr_set(expr, NFTNL_EXPR_DYNSET_EXPR, element_expr, 0);
}

void cn_nft_dynset_counter(struct nftnl_rule *rule, uint32_t sreg, const char *set, uint32_t set_id)
{
    dynset(rule, sreg, NFT_DYNSET_OP_UPDATE, set, set_id, nftnl_expr_alloc("counter"));
}

void cn_nft_dynset_limit(struct nftnl_rule *rule, uint32_t sreg, const char *set, uint32_t set_id,
                         uint64_t per_second, uint32_t burst)
{
    struct nftnl_expr *limit = nftnl_expr_alloc("limit");
    nftnl_expr_set_u64(limit, NFTNL_EXPR_LIMIT_RATE, per_second);
    nftnl_expr_set_u64(limit, NFTNL_EXPR_LIMIT_UNIT, 1);
    nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_BURST, burst);
    nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
    nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_FLAGS, NFT_LIMIT_F_INV);
    dynset(rule, sreg, NFT_DYNSET_OP_ADD, set, set_id, limit);
}
