using System.Globalization;
using KetamineCds.Clinical.Outcomes;

namespace KetamineCds.SmartApp.Pages;

/// <summary>One plotted value: a label for the x axis, the score, and a tooltip.</summary>
public sealed record ChartPoint(string Label, decimal Value, string Description);

/// <summary>
/// Server-rendered SVG charts (no script, no CDN): role="img" with a title and a description that say the same as the
/// table under each chart, so a screen reader gets the numbers and print keeps them. All numbers are the patient's.
/// </summary>
public static class Charts
{
    private const int Width = 560;
    private const int Height = 260;
    private const int Left = 44;
    private const int Right = 16;
    private const int Top = 16;
    private const int Bottom = 48;

    /// <summary>QIDS-SR16 over the course: the remission band (at or below the remission score), the response line (half the baseline).</summary>
    public static void Qids(Html h, string id, IReadOnlyList<ChartPoint> points, decimal? baseline, OutcomeDefinitions definitions, string description)
    {
        ArgumentNullException.ThrowIfNull(h);
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(definitions);
        var max = definitions.QidsRange.Max;
        Open(h, id, "QIDS-SR16 total score over the ketamine/esketamine course (this patient's scores)", description);
        Grid(h, max, 9);
        // Remission band: 0 to the remission score (Joseph et al. 2023, Methods 2.1: remission = QIDS-SR <= 5).
        var bandTop = Y(definitions.RemissionMaxScore, max);
        h.Raw(F($"<rect class=\"band-remission\" x=\"{Left}\" y=\"{bandTop}\" width=\"{Width - Left - Right}\" height=\"{Y(0, max) - bandTop}\"/>"));
        h.Raw(F($"<text class=\"band-label\" x=\"{Width - Right - 4}\" y=\"{bandTop + 14}\" text-anchor=\"end\">")).Text($"remission band ({Html.Number(definitions.RemissionMaxScore)} or less)").Raw("</text>");
        if (baseline is { } b && b > 0)
        {
            var responseScore = b * (100 - definitions.ResponseMinPercentReduction) / 100;
            var y = Y(responseScore, max);
            h.Raw(F($"<line class=\"line-response\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y}\" y2=\"{y}\"/>"));
            h.Raw(F($"<text class=\"line-label\" x=\"{Width - Right - 4}\" y=\"{y - 5}\" text-anchor=\"end\">"))
                .Text($"response line: {Html.Number(definitions.ResponseMinPercentReduction)}% below baseline ({Html.Number(responseScore)})").Raw("</text>");
        }

        Series(h, points, max);
        h.Raw("</svg>");
    }

    /// <summary>CADSS total per session, as bars.</summary>
    public static void Cadss(Html h, string id, IReadOnlyList<ChartPoint> points, string description)
    {
        ArgumentNullException.ThrowIfNull(h);
        ArgumentNullException.ThrowIfNull(points);
        var highest = points.Count == 0 ? 0 : points.Max(p => p.Value);
        var max = Math.Max(10, Math.Ceiling(highest / 10) * 10);
        Open(h, id, "CADSS total score per treatment session (this patient's scores)", description);
        Grid(h, max, 5);
        var step = (decimal)(Width - Left - Right) / Math.Max(1, points.Count);
        var barWidth = Math.Min(36, step * 0.6m);
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            var x = Left + (step * i) + ((step - barWidth) / 2);
            var y = Y(p.Value, max);
            h.Raw(F($"<rect class=\"bar\" x=\"{x:0.#}\" y=\"{y}\" width=\"{barWidth:0.#}\" height=\"{Y(0, max) - y}\"><title>")).Text(p.Description).Raw("</title></rect>");
            h.Raw(F($"<text class=\"value\" x=\"{x + (barWidth / 2):0.#}\" y=\"{y - 4}\" text-anchor=\"middle\">")).Text(Html.Number(p.Value)).Raw("</text>");
            XLabel(h, Left + (step * i) + (step / 2), p.Label);
        }

        h.Raw("</svg>");
    }

    private static void Open(Html h, string id, string title, string description) =>
        h.Raw(F($"<svg class=\"chart\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" focusable=\"false\" xmlns=\"http://www.w3.org/2000/svg\">"))
            .Raw($"<title id=\"{id}-title\">").Text(title).Raw("</title>")
            .Raw($"<desc id=\"{id}-desc\">").Text(description).Raw("</desc>");

    private static void Grid(Html h, decimal max, int ticks)
    {
        for (var i = 0; i <= ticks; i++)
        {
            var value = Math.Round(max * i / ticks, 1);
            var y = Y(value, max);
            h.Raw(F($"<line class=\"grid\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y}\" y2=\"{y}\"/>"));
            h.Raw(F($"<text class=\"tick\" x=\"{Left - 6}\" y=\"{y + 4}\" text-anchor=\"end\">{Html.Number(value)}</text>"));
        }

        h.Raw(F($"<line class=\"axis\" x1=\"{Left}\" x2=\"{Left}\" y1=\"{Top}\" y2=\"{Height - Bottom}\"/>"));
        h.Raw(F($"<line class=\"axis\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Height - Bottom}\" y2=\"{Height - Bottom}\"/>"));
    }

    private static void Series(Html h, IReadOnlyList<ChartPoint> points, decimal max)
    {
        var step = points.Count > 1 ? (decimal)(Width - Left - Right - 40) / (points.Count - 1) : 0;
        var coordinates = points.Select((p, i) => (X: Left + 20 + (step * i), Y: Y(p.Value, max), Point: p)).ToList();
        if (coordinates.Count > 1)
        {
            h.Raw("<polyline class=\"series\" points=\"")
                .Raw(string.Join(' ', coordinates.Select(c => F($"{c.X:0.#},{c.Y}"))))
                .Raw("\"/>");
        }

        foreach (var (x, y, p) in coordinates)
        {
            h.Raw(F($"<circle class=\"dot\" cx=\"{x:0.#}\" cy=\"{y}\" r=\"5\"><title>")).Text(p.Description).Raw("</title></circle>");
            h.Raw(F($"<text class=\"value\" x=\"{x:0.#}\" y=\"{y - 9}\" text-anchor=\"middle\">")).Text(Html.Number(p.Value)).Raw("</text>");
            XLabel(h, x, p.Label);
        }
    }

    private static void XLabel(Html h, decimal x, string label)
    {
        var parts = label.Split('\n', 2);
        h.Raw(F($"<text class=\"tick\" x=\"{x:0.#}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">")).Text(parts[0]).Raw("</text>");
        if (parts.Length > 1)
        {
            h.Raw(F($"<text class=\"tick\" x=\"{x:0.#}\" y=\"{Height - Bottom + 30}\" text-anchor=\"middle\">")).Text(parts[1]).Raw("</text>");
        }
    }

    private static decimal Y(decimal value, decimal max) =>
        Math.Round(Top + ((Height - Top - Bottom) * (1 - (Math.Clamp(value, 0, max) / max))), 1);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
