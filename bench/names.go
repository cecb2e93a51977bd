package bench

import (
	"math/rand/v2"
	"strconv"
)

// Name pools for the copies' Patients. Like Synthea's own names, a copy's
// names carry a number (Garcia512), so that a family name is shared by a few
// patients and its stem by many: Patient?family=Garcia finds a crowd,
// Patient?family:exact=Garcia512 a handful.
var (
	femaleGiven = []string{
		"Amelia", "Ana", "Beatriz", "Camila", "Carmen", "Clara", "Daniela", "Elena",
		"Emma", "Eva", "Gabriela", "Grace", "Hannah", "Ines", "Isabel", "Julia",
		"Laura", "Lucia", "Maria", "Marta", "Mia", "Natalia", "Nora", "Olivia",
		"Paula", "Rosa", "Sara", "Sofia", "Teresa", "Valentina", "Victoria", "Zoe",
	}
	maleGiven = []string{
		"Adrian", "Alejandro", "Andres", "Antonio", "Carlos", "Daniel", "David", "Diego",
		"Eduardo", "Felipe", "Gabriel", "Hugo", "Ivan", "Javier", "Jorge", "Jose",
		"Juan", "Leo", "Lucas", "Luis", "Manuel", "Marco", "Mateo", "Miguel",
		"Nicolas", "Oscar", "Pablo", "Pedro", "Rafael", "Samuel", "Tomas", "Victor",
	}
	families = []string{
		"Alvarez", "Baker", "Castillo", "Chen", "Cruz", "Diaz", "Evans", "Fernandez",
		"Flores", "Garcia", "Gomez", "Gonzalez", "Gutierrez", "Hernandez", "Herrera", "Jimenez",
		"Johnson", "Kim", "Lopez", "Martin", "Martinez", "Medina", "Mendoza", "Moreno",
		"Morales", "Munoz", "Navarro", "Nguyen", "Ortega", "Ortiz", "Patel", "Perez",
		"Ramirez", "Ramos", "Reyes", "Rivera", "Rodriguez", "Romero", "Ruiz", "Sanchez",
		"Santos", "Silva", "Smith", "Suarez", "Torres", "Vargas", "Vega", "Williams",
	}
)

// pickFamily draws a family name.
func pickFamily(rng *rand.Rand) string {
	return families[rng.IntN(len(families))] + strconv.Itoa(1+rng.IntN(999))
}

// pickGiven draws a given name for a Patient of the given FHIR gender.
func pickGiven(rng *rand.Rand, gender string) string {
	pool := femaleGiven
	switch gender {
	case "male":
		pool = maleGiven
	case "female":
	default:
		if rng.IntN(2) == 0 {
			pool = maleGiven
		}
	}
	return pool[rng.IntN(len(pool))] + strconv.Itoa(1+rng.IntN(999))
}
