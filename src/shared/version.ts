/** ARIA's version: `aria version`, the Ollama-compatible `/api/version`. */
export const VERSION = "0.1.0";
