package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// MinIDSecretLength is the shortest Service.IDSecret: 32 bytes, a full
// SHA-256 block's worth of key.
const MinIDSecretLength = 32

// IdempotentID is the id of the generation that user creates with an
// Idempotency-Key: HMAC-SHA256 keyed by secret over the length-prefixed user
// and key, as a version 8 (custom) UUID. The same user and key give the same
// id, so a retry finds the first attempt's generation; without the secret
// nobody can derive, from a user and a guessed key, the id of a generation
// (a UUID derived from public parts, as before, is a name anyone computes).
func IdempotentID(secret []byte, user, key string) string {
	mac := hmac.New(sha256.New, secret)
	for _, part := range []string{user, key} {
		mac.Write(binary.BigEndian.AppendUint32(nil, uint32(len(part))))
		mac.Write([]byte(part))
	}
	sum := mac.Sum(nil)[:16]
	sum[6] = (sum[6] & 0x0f) | 0x80 // version 8
	sum[8] = (sum[8] & 0x3f) | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// idempotentID is IdempotentID under the service's secret. Without one, no
// id is derived: an unkeyed derivation would be guessable.
func (s *Service) idempotentID(user, key string) (string, error) {
	if len(s.IDSecret) < MinIDSecretLength {
		return "", errors.New("app: Service.IDSecret is not set (GENERATION_ID_SECRET): ids from Idempotency-Key would be guessable")
	}
	return IdempotentID(s.IDSecret, user, key), nil
}
