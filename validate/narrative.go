package validate

import (
	"errors"
	"io"
	"strings"

	"golang.org/x/net/html"
)

// narrativeElements are the XHTML elements R4 allows in a narrative
// (narrative.html#xhtml, txt-1): the basic formatting elements of HTML 4.0
// chapters 7 to 11 and 15, links, images and tables.
var narrativeElements = set("a", "abbr", "acronym", "address", "b", "bdo", "big", "blockquote", "br", "caption",
	"cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5",
	"h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
	"strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var")

// narrativeAttributes are the attributes allowed on any of them: the HTML
// 4.0 core and i18n attributes, the presentational ones of those chapters,
// href and name of <a>, src and alt of <img>, and the table attributes. No
// event handler (onclick, onerror …) is among them.
var narrativeAttributes = set("id", "class", "style", "title", "lang", "xml:lang", "dir", "xmlns", "href", "name",
	"src", "alt", "width", "height", "border", "align", "valign", "colspan", "rowspan", "span", "summary",
	"cellpadding", "cellspacing", "frame", "rules", "headers", "scope", "abbr", "axis", "char", "charoff", "start",
	"type", "value", "cite", "datetime", "compact", "hspace", "vspace", "clear", "noshade", "size", "nowrap",
	"bgcolor", "color", "face", "accesskey", "tabindex", "longdesc")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Narrative checks a Narrative.div value against R4's rules (txt-1, txt-2):
// one div element in the XHTML namespace, only the allowed elements and
// attributes (no script, style or form elements, no event handlers, no
// javascript: or other script URLs), and some non-whitespace content. It
// returns "" when the narrative is acceptable, otherwise the first problem.
func Narrative(div string) string {
	z := html.NewTokenizer(strings.NewReader(div))
	depth, roots := 0, 0
	text := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				return "the narrative is not well-formed XHTML"
			}
			switch {
			case roots == 0:
				return "the narrative must be a <div> element"
			case depth != 0:
				return "the narrative has an element that is not closed"
			case !text:
				return "the narrative must have non-whitespace content (txt-2)"
			}
			return ""
		case html.TextToken:
			if depth == 0 {
				if strings.TrimSpace(string(z.Text())) != "" {
					return "the narrative has text outside its <div>"
				}
				continue
			}
			if strings.TrimSpace(string(z.Text())) != "" {
				text = true
			}
		case html.CommentToken:
		case html.DoctypeToken:
			return "the narrative must not have a DOCTYPE"
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if depth == 0 {
				roots++
				if tag != "div" || roots > 1 {
					return "the narrative must be a single <div> element"
				}
			}
			if !narrativeElements[tag] {
				return "the narrative must not contain <" + tag + "> elements (txt-1)"
			}
			if tag == "img" || tag == "br" || tag == "hr" || tag == "col" {
				// Void elements: text inside an image counts too.
				if tag == "img" {
					text = true
				}
			}
			xmlns := ""
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				key, val := string(k), string(v)
				if !narrativeAttributes[key] {
					return "the narrative must not have the attribute " + key + " on <" + tag + "> (txt-1)"
				}
				if key == "xmlns" {
					xmlns = val
				}
				if problem := attributeValue(key, val); problem != "" {
					return problem
				}
			}
			if depth == 0 && xmlns != "http://www.w3.org/1999/xhtml" {
				return `the narrative's <div> must have xmlns="http://www.w3.org/1999/xhtml"`
			}
			if tt == html.StartTagToken && !void(tag) {
				depth++
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if void(string(name)) {
				continue
			}
			depth--
			if depth < 0 {
				return "the narrative has a closing tag without an opening one"
			}
		}
	}
}

func void(tag string) bool {
	return tag == "br" || tag == "hr" || tag == "img" || tag == "col"
}

// attributeValue rejects script in URLs and styles: javascript:, vbscript:
// and data:text/html URLs, and CSS expression() or url(javascript:).
func attributeValue(key, val string) string {
	v := strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1 // browsers ignore these inside a scheme
		}
		return r
	}, strings.ToLower(val))
	switch key {
	case "href", "src", "cite", "longdesc":
		for _, bad := range []string{"javascript:", "vbscript:", "data:text/html", "livescript:"} {
			if strings.HasPrefix(v, bad) {
				return "the narrative must not have script URLs (" + key + "=\"" + val + "\")"
			}
		}
	case "style":
		if strings.Contains(v, "expression(") || strings.Contains(v, "javascript:") || strings.Contains(v, "vbscript:") || strings.Contains(v, "@import") {
			return "the narrative must not have script in a style attribute"
		}
	}
	return ""
}
