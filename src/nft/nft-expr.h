/* nft-expr.h - building nftables rules expression by expression, with
 * names that read like the nft syntax they stand for.  Registers follow
 * nft's own layout: 32-bit registers, concatenations packed from
 * NFT_REG32_00 upwards, each field rounded up to 4 bytes. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>

/* Byte sizes of key fields as they sit in registers. */
#define CN_NFT_IFNAME_LEN 16
#define CN_NFT_ETHER_LEN 8 /* 6, rounded up */
#define CN_NFT_IPV4_LEN 4
#define CN_NFT_PORT_LEN 4  /* 2, rounded up */

/* The register after REG for a field of LEN bytes. */
static inline uint32_t cn_nft_next_reg(uint32_t reg, uint32_t len)
{
    return reg + (len + 3) / 4;
}

struct nftnl_rule *cn_nft_rule_new(uint32_t family, const char *table, const char *chain);

void cn_nft_meta(struct nftnl_rule *rule, uint32_t key, uint32_t dreg);
void cn_nft_payload(struct nftnl_rule *rule, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg);
void cn_nft_cmp(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, const void *data, uint32_t len);
void cn_nft_cmp_u8(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, uint8_t value);
void cn_nft_cmp_be16(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, uint16_t value);
void cn_nft_cmp_ipv4(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, uint32_t address);
/* Compares with an interface name (zero-padded to 16 bytes). */
void cn_nft_cmp_ifname(struct nftnl_rule *rule, uint32_t sreg, uint32_t op, const char *name);
/* "@set" (DREG NFT_REG_VERDICT/0: a set; otherwise a map into DREG). */
void cn_nft_lookup(struct nftnl_rule *rule, uint32_t sreg, const char *set, uint32_t set_id,
                   int invert, uint32_t dreg);
void cn_nft_ct(struct nftnl_rule *rule, uint32_t key, int direction, uint32_t dreg);
/* REG = (REG & MASK) ^ 0, for LEN bytes. */
void cn_nft_and(struct nftnl_rule *rule, uint32_t reg, const void *mask, uint32_t len);
/* REG = (REG & MASK) ^ XOR, for LEN bytes. */
void cn_nft_bitwise(struct nftnl_rule *rule, uint32_t reg, const void *mask, const void *xor_value, uint32_t len);
/* meta KEY set REG */
void cn_nft_meta_set(struct nftnl_rule *rule, uint32_t key, uint32_t sreg);
void cn_nft_immediate(struct nftnl_rule *rule, uint32_t dreg, const void *data, uint32_t len);
void cn_nft_verdict(struct nftnl_rule *rule, int verdict);
/* counter (packets and bytes of what reaches it) */
void cn_nft_counter(struct nftnl_rule *rule);
void cn_nft_jump(struct nftnl_rule *rule, const char *chain);
/* dnat/snat ip to the address in REG_ADDR (and port in REG_PROTO, 0: none) */
void cn_nft_nat(struct nftnl_rule *rule, uint32_t type, uint32_t reg_addr, uint32_t reg_proto);
void cn_nft_reject_tcp_reset(struct nftnl_rule *rule);
/* add @SET { REG limit rate over PER_SECOND/second burst BURST packets }:
 * matches (for a verdict after it) once the key in SREG sends faster;
 * one limiter per key, made by the first packet. */
/* update @SET { SREG counter }: the element's counter counts the packet. */
void cn_nft_dynset_counter(struct nftnl_rule *rule, uint32_t sreg, const char *set, uint32_t set_id);
void cn_nft_dynset_limit(struct nftnl_rule *rule, uint32_t sreg, const char *set, uint32_t set_id,
                         uint64_t per_second, uint32_t burst);
