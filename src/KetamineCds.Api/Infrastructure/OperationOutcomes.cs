using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using KetamineCds.Fhir;

namespace KetamineCds.Api.Infrastructure;

/// <summary>Errors on CDS routes are FHIR OperationOutcome bodies: a code and a message, never a stack trace.</summary>
public static class OperationOutcomes
{
    public const string ContentType = "application/fhir+json";

    /// <summary>Recorded (audit, logs) for a client that disconnected mid-request; never sent (nginx's 499).</summary>
    public const int ClientClosedRequest = 499;

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
        if (error.Status == ClientClosedRequest)
        {
            Log.ClientDisconnected(logger, serviceId);
            return ClientGone;
        }

        Log.HookRefused(logger, serviceId, error.Status, error.Code, error.Message);
        return Result(error.Status, error.Code, error.Message);
    }

    /// <summary>Sets the recorded status to 499 and writes nothing: the connection is gone.</summary>
    private static readonly IResult ClientGone = new ClientGoneResult();

    private sealed class ClientGoneResult : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            if (!httpContext.Response.HasStarted)
            {
                httpContext.Response.StatusCode = ClientClosedRequest;
            }

            return Task.CompletedTask;
        }
    }

    public static Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Result(status, code, message).ExecuteAsync(context);
    }
}
