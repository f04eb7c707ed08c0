{{ stg_comments('tiktok') }}
