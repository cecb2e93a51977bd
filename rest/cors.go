package rest

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// cors lets browser SMART apps at origins call the API: preflight requests
// are answered, the Authorization header and FHIR's request headers are
// allowed, and the headers a FHIR client reads are exposed.
func cors(origins []string) echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: origins,
		AllowMethods: []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
		AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderAccept, "If-Match",
			"If-None-Match", "If-None-Exist", "If-Modified-Since", "Prefer", echo.HeaderXRequestID},
		ExposeHeaders: []string{echo.HeaderLocation, "ETag", "Last-Modified", "Content-Location", "WWW-Authenticate",
			echo.HeaderXRequestID},
		MaxAge: 600,
	})
}
