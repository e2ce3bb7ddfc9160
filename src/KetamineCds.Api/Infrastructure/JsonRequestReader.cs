using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using KetamineCds.Api.CdsHooks;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// Reads a JSON request body for a CDS route: media type (415), size limit whatever Content-Length claims (413),
/// well-formed JSON within the depth limit (400). Shared by service calls and feedback.
/// </summary>
public sealed class JsonRequestReader(IOptions<CdsOptions> options)
{
    /// <summary>The parsed document (the caller disposes it), or the error to answer with.</summary>
    public async Task<(JsonDocument? Document, RequestError? Error)> ReadAsync(HttpContext http, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (!IsJson(http.Request.ContentType))
        {
            return (null, new RequestError(StatusCodes.Status415UnsupportedMediaType, "not-supported", $"Send the {what} as application/json."));
        }

        var (body, bodyError) = await ReadBodyAsync(http, cancellationToken);
        if (bodyError is not null)
        {
            return (null, bodyError);
        }

        var maxDepth = options.Value.MaxJsonDepth;
        try
        {
            return (JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = maxDepth }), null);
        }
        catch (JsonException ex)
        {
            var reason = ex.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase)
                ? $"The request JSON is nested deeper than {maxDepth} levels."
                : "The request body is not valid JSON.";
            return (null, new RequestError(StatusCodes.Status400BadRequest, "structure", reason));
        }
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType is { } type
        && (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads the body up to the configured limit; anything larger is a 413, whatever Content-Length claimed.</summary>
    private async Task<(ReadOnlyMemory<byte> Body, RequestError? Error)> ReadBodyAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        var tooLarge = new RequestError(StatusCodes.Status413PayloadTooLarge, "too-long", $"The request body exceeds {limit} bytes.");
        if (http.Request.ContentLength > limit)
        {
            return (default, tooLarge);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit + 1;
        }

        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(http.Request.ContentLength ?? 16 * 1024, limit) + 1);
        try
        {
            while (true)
            {
                var memory = buffer.GetMemory(16 * 1024);
                var read = await http.Request.Body.ReadAsync(memory, cancellationToken);
                if (read == 0)
                {
                    break;
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                {
                    return (default, tooLarge);
                }
            }
        }
        catch (BadHttpRequestException ex)
        {
            return (default, ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? tooLarge
                : new RequestError(ex.StatusCode, "structure", "The request body could not be read."));
        }

        return (buffer.WrittenMemory, null);
    }
}
