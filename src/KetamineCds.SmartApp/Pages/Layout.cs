namespace KetamineCds.SmartApp.Pages;

/// <summary>
/// The page frame: language, viewport, one stylesheet served by the app (no inline style or script, so the CSP can forbid
/// both), a skip link, landmarks.
/// </summary>
public static class Layout
{
    public const string StylesheetPath = "/app/assets/app.css";

    public static string Page(string title, Action<Html> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var h = new Html();
        h.Raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Raw("<meta name=\"referrer\" content=\"no-referrer\">")
            .El("title", title + " - KetamineCds")
            .Raw($"<link rel=\"stylesheet\" href=\"{StylesheetPath}\"></head><body>")
            .Raw("<a class=\"skip\" href=\"#main\">Skip to the main content</a>")
            .Raw("<header class=\"app-bar\" role=\"banner\"><p class=\"app-name\">KetamineCds <span class=\"app-sub\">ketamine course and evidence</span></p></header>")
            .Raw("<main id=\"main\" tabindex=\"-1\">");
        body(h);
        h.Raw("</main><footer class=\"app-foot\" role=\"contentinfo\"><p>KetamineCds informs; clinicians decide. It never recommends stopping, tapering, holding or reducing a medication.</p></footer></body></html>");
        return h.ToString();
    }
}
