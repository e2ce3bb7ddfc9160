using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using KetamineCds.Fhir;

namespace KetamineCds.Api.Infrastructure;

/// <summary>Errors on CDS routes are FHIR OperationOutcome bodies: a code and a message, never a stack trace.</summary>
public static class OperationOutcomes
{
    public const string ContentType = "application/fhir+json";

    public static IResult Result(int status, string code, string message)
    {
        CdsTelemetry.Refused(status, code);
        var outcome = new OperationOutcome
        {
            Issue =
            [
                new OperationOutcome.IssueComponent
                {
                    Severity = OperationOutcome.IssueSeverity.Error,
                    Code = Enum.TryParse<OperationOutcome.IssueType>(code.Replace("-", "", StringComparison.Ordinal), true, out var type)
                        ? type
                        : OperationOutcome.IssueType.Processing,
                    Diagnostics = message,
                },
            ],
        };
        return Results.Text(FhirJson.Serialize(outcome), ContentType, statusCode: status);
    }

    /// <summary>A refused CDS call: logged once at the boundary (codes only), answered with an OperationOutcome.</summary>
    public static IResult Refuse(ILogger logger, string serviceId, KetamineCds.Api.CdsHooks.RequestError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        Log.HookRefused(logger, serviceId, error.Status, error.Code, error.Message);
        return Result(error.Status, error.Code, error.Message);
    }

    public static Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Result(status, code, message).ExecuteAsync(context);
    }
}
