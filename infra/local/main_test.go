package main

import (
	"os"
	"testing"

	"github.com/designerbff/pipeline/infra/local/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
