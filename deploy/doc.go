// Package deploy checks the files that deploy HCE and talk to its API: the
// Helm chart in helm/, compose.yaml with .env.example, the Dockerfile and the
// Postman collection in postman/. It has no code of its own, only tests,
// which run without a container engine or a Kubernetes cluster:
//
//   - the chart is rendered with the Helm SDK for several value sets, linted,
//     validated against values.schema.json, and every manifest is decoded
//     strictly into the Kubernetes API types (an unknown or misspelt field
//     fails), then checked for what a production install needs: volume claim
//     templates, probes, resources, non-root read-only containers,
//     anti-affinity, disruption budgets, hooks, and no plaintext password;
//   - compose.yaml is loaded with compose-go, the loader Docker Compose uses,
//     and checked for services, health checks, start order, volumes and the
//     absence of any committed password;
//   - the Dockerfile, the Postman collection and its newman lock file are
//     checked for the contracts the rest of the project relies on.
//
// Run them with `go test ./deploy/`; `go test ./deploy/ -update` rewrites the
// golden rendering of the chart's defaults in testdata/.
package deploy
