package rest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// Defaults of the bounds on one request.
const (
	// DefaultBodyTimeout is how long a client may take to send a request's
	// body: 64 MiB at 20 Mbit/s.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultRequestTimeout is the deadline of a whole request, the body
	// included: the largest transaction Bundle loads well within it.
	DefaultRequestTimeout = 2 * time.Minute
	// DefaultMaxHeaderBytes bounds the request line and headers together:
	// searches within the default limits (100 parameters of 100 values)
	// fit.
	DefaultMaxHeaderBytes = 1 << 20
)

// bodyDeadline gives the handler timeout to read the request's body: a
// client that sends fewer bytes than its Content-Length, or drips them, is
// cut off with a 400 when it runs out (bodyError). Requests that do not
// reach the network (the entries of a Bundle) have no deadline to set.
func bodyDeadline(timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Body != nil && c.Request().Body != http.NoBody {
				_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(timeout))
			}
			return next(c)
		}
	}
}

// requestDeadline ends the context of a request after timeout: the
// database statements it runs are cancelled, and the answer is a 503
// (deadlineError).
func requestDeadline(timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			err := next(c)
			if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return statusError(http.StatusServiceUnavailable, "timeout",
					"the request did not finish within its deadline of "+timeout.String())
			}
			return err
		}
	}
}

// headerLimit answers 431 with an OperationOutcome when the request line
// and headers exceed n bytes. The HTTP server's own limit is set above n
// (serve.go), so that this middleware, not its plain-text answer, sees
// all but grossly oversized requests.
func headerLimit(n int) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			size := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
			for k, vs := range r.Header {
				for _, v := range vs {
					size += len(k) + len(v) + 4
				}
			}
			if size > n {
				return statusError(http.StatusRequestHeaderFieldsTooLarge, "too-costly",
					"the request line and headers exceed the limit of "+strconv.Itoa(n)+" bytes")
			}
			return next(c)
		}
	}
}

// isTimeout reports whether a body read failed on its deadline.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}
