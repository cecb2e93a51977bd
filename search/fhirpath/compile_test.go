package fhirpath

import (
	"errors"
	"strings"
	"testing"
)

// TestCompileForms checks forms that the HL7 R4 search parameters and common
// implementation guides write differently from testdata/expressions.json.
func TestCompileForms(t *testing.T) {
	for _, expr := range []string{
		"Observation.value as Quantity | Observation.value as SampledData",
		"(ActivityDefinition.useContext.value as CodeableConcept)",
		"Condition.abatement.as(Age) | Condition.abatement.as(Range)",
		"Observation.component.value.as(FHIR.Quantity)",
		"value.ofType(System.DateTime)",
		"Patient.extension('http://hl7.org/fhir/us/core/StructureDefinition/us-core-race').extension.value.code",
		"Patient.extension.where(url = 'http://example.org/x').value.as(Reference)",
		"QuestionnaireResponse.item.where(hasValue())",
		"Bundle.entry.first().resource",
		"%resource.referenceSeq.chromosome",
		"%'resource'.id",
		"`div`.exists()",
		"Patient.name.given // a comment",
		"Patient.name /* inline */ .family",
		"Patient.active = true and (Patient.gender = 'male' or Patient.gender = 'other')",
		"Patient.name.where(given = 'Jim').exists().not()",
		"'it\\'s' = 'it\\u0027s'",
		"Patient.link.other.resolve() is FHIR.Patient",
		"Patient.name.count() = 3",
		"1.exists()",
	} {
		t.Run(expr, func(t *testing.T) {
			e, err := Compile(expr)
			if err != nil {
				t.Fatal(err)
			}
			if e.String() != expr {
				t.Errorf("String() = %q", e.String())
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr        string
		unsupported bool   // error wraps ErrUnsupported
		msg         string // part of the message
	}{
		{"", false, "unexpected end of expression"},
		{"Patient.", false, "expected a name after '.'"},
		{"Patient.name[0", false, "expected ']'"},
		{"Patient.name)", false, "unexpected ')'"},
		{"(Patient.name", false, "expected ')'"},
		{"'unterminated", false, "unterminated quoted text"},
		{"'bad \\q escape'", false, "unknown escape"},
		{"'\\u12'", false, "short unicode escape"},
		{"Patient.name /* open", false, "unterminated comment"},
		{"Patient.name # x", false, "unexpected character '#'"},
		{"Patient.``", false, "empty identifier"},
		{"% x", false, "'%' must be followed by a name"},
		{"Patient.where()", false, "where() takes 1 argument(s), got 0"},
		{"Patient.first(1)", false, "first() takes no arguments"},
		{"Patient.ofType('Quantity')", false, "expected a type name"},
		{"Patient.name is", false, "expected a type name"},
		{"Patient and", false, "unexpected end of expression"},
		{"or Patient", false, "unexpected 'or'"},
		{strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), false, "nested too deeply"},
		{strings.Repeat("a.where(", 70) + "1" + strings.Repeat(")", 70), false, "nested too deeply"},
		{"Observation.code.memberOf('http://x')", true, "function memberOf()"},
		{"Patient.name.select(given)", true, "function select()"},
		{"Patient.birthDate > @2020-01-01", true, "operator >"},
		{"@2020-01-01", true, "date/time literal"},
		{"Patient.name.given + 'x'", true, "operator +"},
		{"Patient.name.given & 'x'", true, "operator &"},
		{"2 * 3", true, "operator *"},
		{"7 div 2", true, "operator div"},
		{"-1", true, "unary -"},
		{"Patient.gender ~ 'male'", true, "operator ~"},
		{"'a' in Patient.name.given", true, "operator in"},
		{"Patient.name.given contains 'a'", true, "operator contains"},
		{"4 'mg'", true, "quantity literal"},
		{"4 days", true, "quantity literal"},
		{"Patient.name[$index]", true, "$index"},
		{"%vs-administrative-gender", true, "%vs"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Compile(tt.expr)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want an error", tt.expr, e)
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Expr != tt.expr {
				t.Fatalf("error %v is not a *SyntaxError for the expression", err)
			}
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(ErrUnsupported) = %v, want %v (%v)", got, tt.unsupported, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestLex(t *testing.T) {
	toks, err := lex("Obs.value.as(Quantity)[0] != 'a\\tb' | %resource | $this | 1.5 | 2.x")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, tk.String())
	}
	want := []string{
		"'Obs'", "'.'", "'value'", "'.'", "'as'", "'('", "'Quantity'", "')'", "'['", "'0'", "']'",
		"'!='", `"a\tb"`, "'|'", "'resource'", "'|'", "'this'", "'|'", "'1.5'", "'|'", "'2'", "'.'", "'x'",
		"end of expression",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("lex =\n%v\nwant\n%v", got, want)
	}
}
