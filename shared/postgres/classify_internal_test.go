package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/shared/generation"
)

func TestDBErrorClassifiesFromPgxSignals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		code string
	}{
		{&pgconn.PgError{Code: "57P01"}, generation.EUNAVAILABLE},
		{&pgconn.PgError{Code: "57P02"}, generation.EUNAVAILABLE},
		{&pgconn.PgError{Code: "57P03"}, generation.EUNAVAILABLE},
		{&pgconn.PgError{Code: "53300"}, generation.EUNAVAILABLE},
		{&pgconn.PgError{Code: "08006"}, generation.EUNAVAILABLE},
		{&pgconn.PgError{Code: "40001"}, generation.EUNAVAILABLE},
		{&pgconn.PgError{Code: "40P01"}, generation.EUNAVAILABLE},
		{fmt.Errorf("commit: %w", io.ErrUnexpectedEOF), generation.EUNAVAILABLE},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), generation.EUNAVAILABLE},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), generation.EUNAVAILABLE},
		{pgconn.ErrConnClosed, generation.EUNAVAILABLE},
		{&pgconn.PgError{Code: "23514", ConstraintName: "c"}, generation.EINVALID},
		{&pgconn.PgError{Code: "42P01"}, generation.EINTERNAL},
		{errors.New("something else"), generation.EINTERNAL},
	}
	for _, tt := range tests {
		require.Equal(t, tt.code, generation.ErrorCode(dbError(tt.err, "op")), "%v", tt.err)
	}
}
