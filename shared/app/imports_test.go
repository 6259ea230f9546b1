package app_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The application layer depends on the domain and the pure libraries only;
// the API's transport on the application layer, never on an adapter or a
// library the operations use.
func TestLayersImportNoAdapter(t *testing.T) {
	const mod = "github.com/designerbff/pipeline/"
	adapters := []string{"shared/postgres", "shared/r2", "shared/sqs", "shared/sfn", "shared/provider/", "shared/config", "infra/"}
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{"./", adapters},
		{"../httpapi", append([]string{"shared/buffer", "shared/learning", "shared/quality"}, adapters...)},
	}
	for _, tt := range tests {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, tt.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", tt.pkg, err, out)
		}
		for _, imp := range strings.Fields(string(out)) {
			for _, f := range tt.forbidden {
				if strings.HasPrefix(imp, mod+f) {
					t.Errorf("%s imports %s", tt.pkg, imp)
				}
			}
		}
	}
}
