// Package sam reads template.yaml the way CloudFormation does and renders the
// state machine definition with its DefinitionSubstitutions, so that tests
// and asl-validator check what AWS deploys rather than the placeholder text.
package sam

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/designerbff/pipeline/statemachine"
)

// Dummy values DummySubstitutions puts in place of deploy-time ARNs.
const (
	DummyRegion  = "eu-west-1"
	DummyAccount = "123456789012"
)

// Template is a CloudFormation/SAM template with every short-form intrinsic
// (!Ref, !GetAtt, !Sub, !If…) in its long form ({"Ref": …},
// {"Fn::GetAtt": [resource, attribute]}, {"Fn::Sub": …}). Numbers are
// float64, as in encoding/json.
type Template struct {
	Globals    map[string]any            `json:"Globals"`
	Parameters map[string]map[string]any `json:"Parameters"`
	Conditions map[string]any            `json:"Conditions"`
	Resources  map[string]Resource       `json:"Resources"`
	Outputs    map[string]any            `json:"Outputs"`
}

// Resource is one entry of a template's Resources.
type Resource struct {
	Type       string         `json:"Type"`
	Metadata   map[string]any `json:"Metadata"`
	Properties map[string]any `json:"Properties"`
}

// ReadTemplate reads and parses a template file.
func ReadTemplate(path string) (Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Template{}, fmt.Errorf("read template: %w", err)
	}
	t, err := ParseTemplate(data)
	if err != nil {
		return Template{}, fmt.Errorf("parse template %s: %w", path, err)
	}
	return t, nil
}

// ParseTemplate parses a YAML template, turning short-form intrinsic tags
// into their long form.
func ParseTemplate(data []byte) (Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Template{}, fmt.Errorf("decode yaml: %w", err)
	}
	if doc.Kind == 0 {
		return Template{}, errors.New("decode yaml: empty document")
	}
	v, err := plain(&doc)
	if err != nil {
		return Template{}, err
	}
	// A JSON round trip maps the plain tree onto the typed fields.
	raw, err := json.Marshal(v)
	if err != nil {
		return Template{}, fmt.Errorf("encode template: %w", err)
	}
	var t Template
	if err := json.Unmarshal(raw, &t); err != nil {
		return Template{}, fmt.Errorf("decode template: %w", err)
	}
	return t, nil
}

// plain converts a YAML node into maps, slices and scalars, rewriting
// CloudFormation's short-form tags as it goes.
func plain(n *yaml.Node) (any, error) {
	if tag, ok := shortTag(n); ok {
		return intrinsic(n, tag)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return plain(n.Content[0])
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if k == "<<" {
				return nil, fmt.Errorf("line %d: YAML merge keys are not supported by CloudFormation", n.Content[i].Line)
			}
			v, err := plain(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := plain(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
}

// shortTag returns the name of a local tag such as !Ref ("Ref").
func shortTag(n *yaml.Node) (string, bool) {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return n.Tag[1:], true
	}
	return "", false
}

// intrinsic builds the long form of a short-form intrinsic function.
func intrinsic(n *yaml.Node, name string) (any, error) {
	var arg any
	if n.Kind == yaml.ScalarNode {
		// CloudFormation takes a tagged scalar's text as it is (!Ref 10 names "10").
		arg = n.Value
		if name == "GetAtt" {
			res, attr, ok := strings.Cut(n.Value, ".")
			if !ok {
				return nil, fmt.Errorf("line %d: !GetAtt %q needs Resource.Attribute", n.Line, n.Value)
			}
			arg = []any{res, attr}
		}
	} else {
		untagged := *n
		untagged.Tag = ""
		v, err := plain(&untagged)
		if err != nil {
			return nil, err
		}
		arg = v
	}
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: arg}, nil
	default:
		return map[string]any{"Fn::" + name: arg}, nil
	}
}

// Ref returns the logical id or parameter a {"Ref": …} value names.
func Ref(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	s, ok := m["Ref"].(string)
	return s, ok
}

// GetAtt returns the resource and attribute of a {"Fn::GetAtt": …} value.
func GetAtt(v any) (resource, attribute string, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", "", false
	}
	switch a := m["Fn::GetAtt"].(type) {
	case []any:
		if len(a) != 2 {
			return "", "", false
		}
		r, ok1 := a[0].(string)
		at, ok2 := a[1].(string)
		return r, at, ok1 && ok2
	case string:
		r, at, found := strings.Cut(a, ".")
		return r, at, found
	}
	return "", "", false
}

// StateMachine returns the template's one AWS::Serverless::StateMachine.
func (t Template) StateMachine() (string, Resource, error) {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == "AWS::Serverless::StateMachine" {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		slices.Sort(ids)
		return "", Resource{}, fmt.Errorf("want exactly one AWS::Serverless::StateMachine, found %d %v", len(ids), ids)
	}
	return ids[0], t.Resources[ids[0]], nil
}

// DummySubstitutions returns the state machine's DefinitionSubstitutions
// with a stand-in for each deploy-time value: a function's ARN becomes
// arn:aws:lambda:eu-west-1:123456789012:function:<name> (the logical id
// lower-cased without its "Function" suffix, e.g. "plan"), a parameter its
// Default. Other intrinsics are an error, so nothing is silently guessed.
func DummySubstitutions(templatePath string) (map[string]string, error) {
	t, err := ReadTemplate(templatePath)
	if err != nil {
		return nil, err
	}
	id, sm, err := t.StateMachine()
	if err != nil {
		return nil, err
	}
	raw, ok := sm.Properties["DefinitionSubstitutions"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s has no DefinitionSubstitutions map", id)
	}
	subs := make(map[string]string, len(raw))
	for key, v := range raw {
		s, err := t.dummyValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s substitution %s: %w", id, key, err)
		}
		subs[key] = s
	}
	return subs, nil
}

func (t Template) dummyValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	if res, attr, ok := GetAtt(v); ok {
		r, found := t.Resources[res]
		switch {
		case !found:
			return "", fmt.Errorf("!GetAtt %s.%s: no such resource", res, attr)
		case r.Type != "AWS::Serverless::Function" || attr != "Arn":
			return "", fmt.Errorf("!GetAtt %s.%s: only a function's Arn has a dummy value", res, attr)
		}
		return DummyFunctionARN(res), nil
	}
	if name, ok := Ref(v); ok {
		p, found := t.Parameters[name]
		if !found {
			return "", fmt.Errorf("!Ref %s: only parameters have a dummy value", name)
		}
		def, ok := p["Default"]
		if !ok {
			return "", fmt.Errorf("!Ref %s: the parameter has no Default", name)
		}
		return t.dummyValue(def)
	}
	return "", fmt.Errorf("unsupported value %v", v)
}

// DummyFunctionARN is the stand-in ARN of the function with the logical id.
func DummyFunctionARN(logicalID string) string {
	name := strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
	return "arn:aws:lambda:" + DummyRegion + ":" + DummyAccount + ":function:" + name
}

// RenderDefinition replaces every ${Name} placeholder textually, as Step
// Functions applies DefinitionSubstitutions (so a placeholder may stand in a
// number position), and checks that the result is JSON. A placeholder
// without a substitution is an error; unused substitutions are not.
func RenderDefinition(definition []byte, subs map[string]string) ([]byte, error) {
	var missing []string
	out := statemachine.Placeholder.ReplaceAllFunc(definition, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := subs[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("render definition: no substitution for %s", strings.Join(slices.Compact(missing), ", "))
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("render definition: the substituted definition is not JSON: %w", err)
	}
	return out, nil
}
