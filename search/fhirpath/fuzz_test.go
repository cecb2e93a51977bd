package fhirpath

import "testing"

// FuzzCompile compiles arbitrary text and evaluates whatever compiles on a
// resource with contained resources, choice elements, components and
// extensions. Neither step may panic; errors are fine.
func FuzzCompile(f *testing.F) {
	for _, p := range readExpressions(f) {
		f.Add(p.Expression)
		for _, c := range p.Components {
			f.Add(c)
		}
	}
	for _, s := range []string{
		"Observation.subject.where(resolve() is Patient)",
		"(Observation.value as Quantity).value = 0",
		"Observation.component.value.as(CodeableConcept).coding.extension('http://hl7.org/fhir/StructureDefinition/ordinalValue').value",
		"Observation.contained[0].name.given.first() | %resource.id | $this.id",
		"Observation.code.coding.where(system = %loinc and code != '1').exists() implies {}.empty().not()",
		"Observation.component.value.ofType(System.Integer).count() xor true",
		"'\\u00e9' | `value` | 1.5 | 2.x",
	} {
		f.Add(s)
	}
	res := loadFixture(f, "Observation-1minute-apgar-score.json")
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Compile(expr)
		if err != nil {
			return
		}
		if _, err := e.Eval(res); err == nil {
			// Also as a component expression on an element.
			_, _ = e.EvalAt(res, Node{Value: res["component"].([]any)[0]})
		}
	})
}
