package statemachine_test

import (
	"testing"
	"time"

	"github.com/designerbff/pipeline/statemachine"
)

func TestExecutionTimeout(t *testing.T) {
	if got := statemachine.ExecutionTimeout(); got != time.Hour {
		t.Fatalf("the definition's TimeoutSeconds: got %v, want 1h", got)
	}
}
