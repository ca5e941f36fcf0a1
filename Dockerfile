# One image for every Qanagat process (web, bot, worker, migrations).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Cairo and a font with the Kazakh letters: `qanagat qr` renders posters to PNG and PDF.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcairo2 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps . && useradd --system qanagat
USER qanagat
EXPOSE 8080
CMD ["qanagat", "serve", "--host", "0.0.0.0"]
