using KetamineCds.Review.Cli;

namespace KetamineCds.Review.Tests;

/// <summary>The console's answers to bad input: one plain line and a documented exit code, never a stack trace.</summary>
public sealed class CommandTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ReviewCommand.RunAsync(args, stdout, stderr, CancellationToken.None);
        Assert.DoesNotContain("   at ", stderr.ToString());
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task A_missing_export_is_exit_66_with_the_path()
    {
        var (code, _, err) = await Run("review", "/nonexistent/export", "--out", "/tmp/x");
        Assert.Equal(ExitCodes.NoInput, code);
        Assert.Equal("ketamine-review: no export at /nonexistent/export\n", err);
    }

    [Theory]
    [InlineData("--shard", "3/2", "--shard must be i/N")]
    [InlineData("--as-of", "yesterday", "--as-of must be a date")]
    [InlineData("--threshold", "-1", "--threshold must be mg/day")]
    [InlineData("--buckets", "0", "--buckets must be a whole number")]
    public async Task A_wrong_option_is_exit_64_with_what_is_wrong(string option, string value, string message)
    {
        using var export = new TempExport().File("Patient.ndjson", Fhir.Patient("p1"));
        var (code, _, err) = await Run("review", export.Input, "--out", export.Output, option, value);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(message, err);
    }

    [Fact]
    public async Task An_export_of_nothing_readable_is_exit_66()
    {
        using var export = new TempExport().File("Patient.ndjson", "{not json", "also not");
        var (code, _, err) = await Run("review", export.Input, "--out", export.Output, "--no-validate", "--no-progress");
        Assert.Equal(ExitCodes.NoInput, code);
        Assert.Contains("None of the 2 records", err);
    }

    [Fact]
    public async Task With_strict_unreadable_records_give_exit_3_after_the_report_is_written()
    {
        using var export = new TempExport()
            .File("MedicationRequest.ndjson", Fhir.IvKetamine("k1", "p1"), "{\"resourceType\":\"MedicationRequest\",")
            .File("Patient.ndjson", Fhir.Patient("p1"));
        var (code, stdout, err) = await Run("review", export.Input, "--out", export.Output, "--no-validate", "--no-progress", "--strict", "--as-of", "2026-12-01");
        Assert.Equal(ExitCodes.UnreadableRecords, code);
        Assert.Contains("MedicationRequest.ndjson:2: not valid JSON", err);
        Assert.Contains("Observation: not in the export; the QIDS-SR course is not available for any patient", err);
        Assert.Contains("1 on ketamine/esketamine", stdout);
        Assert.True(File.Exists(Path.Combine(export.Output, "report.html")));
    }

    [Fact]
    public async Task An_unknown_command_is_exit_64()
    {
        var (code, _, err) = await Run("reveiw");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("unknown command 'reveiw'", err);
    }
}
