package rest

import (
	"net/http"
	"strconv"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// exportJob returns the job of the request's :job parameter, when the
// request's principal owns it; any other job is unknown to it.
func (h *Handler) exportJob(c echo.Context) (*fhir.ExportJob, error) {
	if h.opt.Exports == nil {
		return nil, fhir.Errorf(fhir.ErrNotFound, "not-found", "$export is not enabled on this server")
	}
	id := c.Param("job")
	j, err := h.opt.Exports.ExportStatus(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	p := principalOf(c.Request().Context())
	if p != nil && j.Req.Owner != owner(p) || p == nil && j.Req.Owner != "" {
		return nil, fhir.Errorf(fhir.ErrNotFound, "not-found", "no export job "+id)
	}
	return j, nil
}

// manifest is the complete job's answer (export.html#response---complete-status).
type manifest struct {
	TransactionTime     string         `json:"transactionTime"`
	Request             string         `json:"request"`
	RequiresAccessToken bool           `json:"requiresAccessToken"`
	Output              []manifestFile `json:"output"`
	Error               []manifestFile `json:"error"`
}

type manifestFile struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int64  `json:"count"`
}

// exportStatus answers a status request: 202 with X-Progress and
// Retry-After while the job runs, 200 with the manifest when it is done. A
// job that failed is done too: its manifest has no output and an error
// file that says why.
func (h *Handler) exportStatus(c echo.Context) error {
	j, err := h.exportJob(c)
	if err != nil {
		return err
	}
	hd := c.Response().Header()
	switch j.Status {
	case "accepted", "running":
		hd.Set("X-Progress", j.Status+": "+strconv.FormatInt(j.Exported, 10)+" resources exported")
		hd.Set("Retry-After", "2")
		return c.NoContent(http.StatusAccepted)
	}
	if j.Status == "failed" {
		hd.Set("X-Progress", "failed: "+j.Error)
	}
	m := manifest{TransactionTime: fhir.FormatInstant(j.TransactionTime), Request: j.Req.Request,
		RequiresAccessToken: h.opt.Auth != nil, Output: []manifestFile{}, Error: []manifestFile{}}
	for _, f := range j.Files {
		mf := manifestFile{Type: f.Type, URL: baseURL(c) + "/$export-file/" + j.ID + "/" + strconv.Itoa(f.N), Count: f.Count}
		if f.Error {
			m.Error = append(m.Error, mf)
		} else {
			m.Output = append(m.Output, mf)
		}
	}
	hd.Set("Expires", j.Expires.UTC().Format(http.TimeFormat))
	return c.JSON(http.StatusOK, m)
}

// exportCancel deletes a job and its files (export.html#bulk-data-delete-request).
func (h *Handler) exportCancel(c echo.Context) error {
	j, err := h.exportJob(c)
	if err != nil {
		return err
	}
	if err := h.opt.Exports.CancelExport(c.Request().Context(), j.ID); err != nil {
		return err
	}
	return writeJSON(c, http.StatusAccepted, fhir.NewOperationOutcome(fhir.Issue{Severity: "information", Code: "informational",
		Diagnostics: "export job " + j.ID + " cancelled and its files deleted"}))
}

// exportFile streams one output file. It takes the same authorization as
// the data: the owner's token must still read the file's type, and a
// patient-bound token only reads the files of its patient's export.
func (h *Handler) exportFile(c echo.Context) error {
	j, err := h.exportJob(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Param("file"))
	var file *fhir.ExportFile
	for i := range j.Files {
		if err == nil && j.Files[i].N == n {
			file = &j.Files[i]
		}
	}
	if file == nil {
		return fhir.Errorf(fhir.ErrNotFound, "not-found", "export job "+j.ID+" has no file "+c.Param("file"))
	}
	if !file.Error {
		g := &guarded{p: principalOf(c.Request().Context())}
		bound, err := g.authorize(auth.Read, file.Type)
		if err != nil {
			return err
		}
		if bound != "" && (len(j.Req.Patients) != 1 || j.Req.Patients[0] != bound) {
			return auth.Forbidden("the file holds resources outside the compartment of the token's patient")
		}
	}
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, "application/fhir+ndjson")
	hd.Set(echo.HeaderContentLength, strconv.FormatInt(file.Bytes, 10))
	c.Response().WriteHeader(http.StatusOK)
	// Past the header an error can only end the stream; the client sees a
	// short body against Content-Length.
	return h.opt.Exports.WriteExportFile(c.Request().Context(), j.ID, file.N, c.Response())
}
