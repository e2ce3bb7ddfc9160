using System.Text.Json;
using KetamineCds.Api.Infrastructure;

namespace KetamineCds.Api.CdsHooks;

/// <summary>
/// CDS Hooks 2.0 feedback (POST /cds-services/{id}/feedback): whether clinicians accepted or overrode our cards. It is
/// validated and logged as counts and outcome codes only (card uuids, no free text: an override reason's display could
/// carry patient detail), for the site to measure how the cards are received.
/// </summary>
public sealed class FeedbackHandler(JsonRequestReader reader, ILogger<FeedbackHandler> logger)
{
    public async Task<IResult> HandleAsync(string serviceId, HttpContext http, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (CdsServiceCatalog.Find(serviceId) is null)
        {
            return Refuse(serviceId, new RequestError(StatusCodes.Status404NotFound, "not-found", $"No CDS service '{serviceId}'."));
        }

        var (document, error) = await reader.ReadAsync(http, "feedback", cancellationToken);
        if (error is not null)
        {
            return Refuse(serviceId, error);
        }

        using (document)
        {
            var root = document!.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("feedback", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                return Refuse(serviceId, new RequestError(StatusCodes.Status400BadRequest, "invalid", "'feedback' is required and must be an array."));
            }

            var accepted = 0;
            var overridden = 0;
            foreach (var item in items.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object
                    || !item.TryGetProperty("card", out var card) || card.ValueKind != JsonValueKind.String || !Guid.TryParse(card.GetString(), out _)
                    || !item.TryGetProperty("outcome", out var outcome) || outcome.ValueKind != JsonValueKind.String
                    || !item.TryGetProperty("outcomeTimestamp", out var timestamp) || timestamp.ValueKind != JsonValueKind.String)
                {
                    return Refuse(serviceId, new RequestError(StatusCodes.Status400BadRequest, "invalid",
                        "Each feedback item needs 'card' (the card's uuid), 'outcome' and 'outcomeTimestamp'."));
                }

                switch (outcome.GetString())
                {
                    case "accepted":
                        accepted++;
                        break;
                    case "overridden":
                        overridden++;
                        break;
                    default:
                        return Refuse(serviceId, new RequestError(StatusCodes.Status400BadRequest, "invalid", "'outcome' must be 'accepted' or 'overridden'."));
                }
            }

            Log.FeedbackReceived(logger, serviceId, accepted, overridden);
            return TypedResults.Ok();
        }
    }

    private IResult Refuse(string serviceId, RequestError error) => OperationOutcomes.Refuse(logger, serviceId, error);
}
