// Package spec embeds the R4 (4.0.1) definitions HCE needs at run time: the
// 1,378 search parameters with their types, FHIRPath expressions and targets,
// and the Patient compartment definition, which decides on which patient's
// shard a resource lives. The JSON files are trimmed copies of HL7's
// definitions (CC0), regenerated with gen.go; types.json.gz holds the
// element definitions and invariants of every R4 type and resource (trimmed
// from the StructureDefinitions, regenerated with gentypes.go), which the
// validator reads.
package spec
