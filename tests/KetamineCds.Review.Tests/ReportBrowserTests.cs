using System.Diagnostics;
using KetamineCds.Review.Reports;

namespace KetamineCds.Review.Tests;

/// <summary>The report in real headless Chromium: its script runs offline and turns on the filter and sort controls.</summary>
[Collection(ReviewCollection.Name)]
public sealed class ReportBrowserTests(EngineFixture fixture)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task The_report_opens_in_Chromium_with_its_filter_controls_and_every_patient_shown()
    {
        Assert.True(File.Exists(Chromium), "Chromium is installed by .ci/install-prerequisites.sh");
        using var export = new TempExport()
            .File("Patient.ndjson", Fhir.Patient("p1"), Fhir.Patient("p2"))
            .File("MedicationRequest.ndjson", Fhir.IvKetamine("k1", "p1"), Fhir.IvKetamine("k2", "p2"))
            .File("MedicationStatement.ndjson", Fhir.Clonazepam2mgBid("b1", "p1"));
        var result = await new ClinicReview(fixture.Engine).RunAsync(export.Options());
        await ReportWriters.WriteAllAsync(result, export.Output);

        var profile = Path.Combine(export.Root, "chromium-profile");
        var start = new ProcessStartInfo(Chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", $"--user-data-dir={profile}", "--dump-dom", "file://" + Path.Combine(export.Output, ReportWriters.Html) },
        };
        using var chromium = Process.Start(start)!;
        var dom = chromium.StandardOutput.ReadToEndAsync();
        _ = chromium.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await chromium.WaitForExitAsync(timeout.Token);

        var html = await dom;
        Assert.Contains("2 of 2 patients shown", html);
        Assert.Contains("<div id=\"controls\" class=\"controls\">", html);
        Assert.Contains("aria-sort", html.Replace("data-sortable=\"\"", "aria-sort")); // headers were made sortable
    }
}
