#ifndef SCEPOPS_COPENSSL_SHIM_H
#define SCEPOPS_COPENSSL_SHIM_H
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// OpenSSL's stack and type-test macros do not import into Swift (swift-build-notes, trap 1).

static inline int scepops_sk_X509_num(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }
static inline X509 *scepops_sk_X509_value(const STACK_OF(X509) *stack, int i) { return sk_X509_value(stack, i); }

/// The certificates of a PKCS#7 SignedData (a SCEP "certs-only" GetCACert answer), or NULL.
static inline STACK_OF(X509) *scepops_pkcs7_certificates(PKCS7 *p7) {
    if (p7 == NULL || !PKCS7_type_is_signed(p7) || p7->d.sign == NULL) return NULL;
    return p7->d.sign->cert;
}

static inline unsigned long scepops_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }
static inline void scepops_sk_X509_free(STACK_OF(X509) *stack) { sk_X509_free(stack); }

/// Verifies a detached CMS signature over `content` without judging the signer's
/// certificate (its chain and purpose are checked separately) and returns the one signer,
/// found among `certificates` (may be NULL) and those the message carries.
static inline X509 *scepops_cms_verified_signer(CMS_ContentInfo *cms, BIO *content, STACK_OF(X509) *certificates) {
    if (CMS_verify(cms, certificates, NULL, content, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) return NULL;
    STACK_OF(X509) *signers = CMS_get0_signers(cms);
    if (signers == NULL) return NULL;
    X509 *signer = sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : NULL;
    if (signer != NULL) X509_up_ref(signer);
    sk_X509_free(signers);
    return signer;
}

/// Whether the certificate's extended key usage names TLS client authentication.
static inline int scepops_has_client_auth(X509 *cert) {
    uint32_t usage = X509_get_extended_key_usage(cert);
    return usage != UINT32_MAX && (usage & XKU_SSL_CLIENT) != 0;
}

static inline int scepops_evp_gcm_set_ivlen(EVP_CIPHER_CTX *ctx, int length) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, length, NULL);
}
static inline int scepops_evp_gcm_get_tag(EVP_CIPHER_CTX *ctx, int length, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, length, tag);
}
static inline int scepops_evp_gcm_set_tag(EVP_CIPHER_CTX *ctx, int length, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, length, tag);
}

// SCEP (RFC 8894) messages: stacks and unions that Swift cannot reach.

static inline STACK_OF(X509) *scepops_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int scepops_sk_X509_push(STACK_OF(X509) *stack, X509 *cert) { return sk_X509_push(stack, cert); }

static inline STACK_OF(X509_EXTENSION) *scepops_sk_X509_EXTENSION_new_null(void) { return sk_X509_EXTENSION_new_null(); }
static inline int scepops_sk_X509_EXTENSION_push(STACK_OF(X509_EXTENSION) *stack, X509_EXTENSION *extension) {
    return sk_X509_EXTENSION_push(stack, extension);
}
static inline void scepops_sk_X509_EXTENSION_pop_free(STACK_OF(X509_EXTENSION) *stack) {
    sk_X509_EXTENSION_pop_free(stack, X509_EXTENSION_free);
}

/// The first signer of a PKCS#7 SignedData, or NULL.
static inline PKCS7_SIGNER_INFO *scepops_pkcs7_first_signer(PKCS7 *p7) {
    STACK_OF(PKCS7_SIGNER_INFO) *signers = PKCS7_get_signer_info(p7);
    if (signers == NULL || sk_PKCS7_SIGNER_INFO_num(signers) < 1) return NULL;
    return sk_PKCS7_SIGNER_INFO_value(signers, 0);
}

static inline int scepops_pkcs7_is_signed(PKCS7 *p7) { return p7 != NULL && PKCS7_type_is_signed(p7); }

/// The string inside a signed attribute's value (PrintableString, OctetString, …), or NULL.
static inline ASN1_STRING *scepops_asn1_type_string(ASN1_TYPE *type) {
    if (type == NULL || type->type == V_ASN1_BOOLEAN || type->type == V_ASN1_NULL || type->type == V_ASN1_OBJECT) return NULL;
    return type->value.asn1_string;
}

#endif
