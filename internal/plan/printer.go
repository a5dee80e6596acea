package plan

import (
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// printer words the library's errors.
var printer = message.NewPrinter(language.English)
